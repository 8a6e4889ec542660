"""The shared Callbell budget, on the private Redis: fewer requests in any second than the budget."""

from __future__ import annotations

import time

from workers.ratelimit import HEADROOM, CallbellRateLimit


def test_requests_beyond_the_budget_wait_for_the_window_to_move(redis, redis_server):
    limiter = CallbellRateLimit(redis_server.url, rps=3)  # 95 % of 3/s: 2 requests in any second
    assert int(3 * HEADROOM) == 2
    started = time.monotonic()
    waits = [limiter.acquire() for _ in range(6)]
    elapsed = time.monotonic() - started
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] > 0  # the third request in the first second waited for the window to move
    assert elapsed >= 1.95  # six requests at two per second span at least two seconds
    assert sum(waits) >= 1.9


def test_two_limiters_share_one_budget(redis, redis_server):
    first, second = CallbellRateLimit(redis_server.url, rps=3), CallbellRateLimit(redis_server.url, rps=3)
    assert first.acquire() == 0.0
    assert second.acquire() == 0.0
    assert first.acquire() > 0  # the third request in the second waits, whichever process sends it
