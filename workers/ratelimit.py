"""One request budget for Callbell shared by every worker process on every machine, kept in Redis."""

from __future__ import annotations

import random
import time

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

LIMIT_KEY = "leadrelay-callbell"
# A request is counted when it leaves, but Callbell counts it when it arrives; arrival times wobble
# by a few milliseconds, which can put one request too many in Callbell's window. Spending only this
# share of the budget keeps that wobble under the limit.
HEADROOM = 0.95
# After a refusal, wait until the oldest request leaves the window, plus a little random spread so
# the waiting workers do not all retry in the same millisecond.
MAX_SPREAD_SECONDS = 0.01


class CallbellRateLimit:
    """A moving one-second window: fewer than `rps` requests in any second, across all workers."""

    def __init__(self, redis_url: str, rps: float):
        self.item = RateLimitItemPerSecond(max(1, int(rps * HEADROOM)))
        self.limiter = MovingWindowRateLimiter(RedisStorage(redis_url))
        self.waits = 0

    def acquire(self) -> float:
        """Block until a request may be sent; return how long it waited, in seconds."""
        waited = 0.0
        while not self.limiter.hit(self.item, LIMIT_KEY):
            self.waits += 1
            reset_at = self.limiter.get_window_stats(self.item, LIMIT_KEY).reset_time
            pause = max(reset_at - time.time(), 0.001) + random.uniform(0, MAX_SPREAD_SECONDS)
            time.sleep(pause)
            waited += pause
        return waited
