"""The shared Callbell budget, on the private Redis: fewer requests in any second than the budget."""

from __future__ import annotations

import time

import pytest

from service.keys import CALLBELL_WINDOW, lead_key, lease_key
from service.lease import LeaseLost
from workers.ratelimit import HEADROOM, CallbellRateLimit, Fence


def test_requests_beyond_the_budget_wait_for_the_window_to_move(redis):
    limiter = CallbellRateLimit(redis, rps=3)  # 95 % of 3/s: 2 requests in any second
    assert int(3 * HEADROOM) == 2
    started = time.monotonic()
    waits = [limiter.acquire() for _ in range(6)]
    elapsed = time.monotonic() - started
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] > 0  # the third request in the first second waited for the window to move
    assert elapsed >= 1.95  # six requests at two per second span at least two seconds
    assert sum(waits) >= 1.9


def test_two_limiters_share_one_budget(redis):
    first, second = CallbellRateLimit(redis, rps=3), CallbellRateLimit(redis, rps=3)
    assert first.acquire() == 0.0
    assert second.acquire() == 0.0
    assert first.acquire() > 0  # the third request in the second waits, whichever process sends it


def test_a_delivery_that_lost_its_lease_sends_nothing_and_marks_nothing(redis):
    limiter = CallbellRateLimit(redis, rps=100)
    fence = Fence("lead-1", "mine")
    redis.set(lease_key("lead-1"), "mine")
    assert limiter.acquire(fence, mark="create_sent") == 0.0
    assert redis.hget(lead_key("lead-1"), "create_sent") == b"1"  # marked as it was admitted
    redis.set(lease_key("lead-1"), "another job")
    redis.hdel(lead_key("lead-1"), "create_sent")
    with pytest.raises(LeaseLost):
        limiter.acquire(fence, mark="create_sent")
    assert redis.hget(lead_key("lead-1"), "create_sent") is None
    assert redis.llen(CALLBELL_WINDOW) == 1  # the refused request spent no budget
