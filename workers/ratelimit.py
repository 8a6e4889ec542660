"""One request budget for Callbell shared by every worker process on every machine, kept in Redis."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from redis import Redis

from service.keys import CALLBELL_WINDOW, lead_key, lease_key
from service.lease import LeaseLost

# A request is counted when it leaves, but Callbell counts it when it arrives; arrival times wobble
# by a few milliseconds, which can put one request too many in Callbell's window. Spending only this
# share of the budget keeps that wobble under the limit.
HEADROOM = 0.95
# After a refusal, wait until the oldest request leaves the window, plus a little random spread so
# the waiting workers do not all retry in the same millisecond.
MAX_SPREAD_SECONDS = 0.01

# A moving one-second window: the send times of the last `budget` requests, newest first, on Redis's
# own clock so every machine agrees. A delivery's request is admitted only while its job still
# holds the lead's lease, and a request that must leave a mark on the lead (a create) leaves it in
# the same step: one round trip before each request instead of three.
# KEYS: the window, then (for a delivery) its lease and its lead record. ARGV: budget, token, field.
# Returns -1 (the lease is lost), 0 (admitted) or the microseconds until a request may go.
ADMIT = """
if #KEYS > 1 and redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local budget = tonumber(ARGV[1])
local oldest = redis.call('LINDEX', KEYS[1], budget - 1)
if oldest and now - tonumber(oldest) < 1000000 then return tonumber(oldest) + 1000000 - now end
redis.call('LPUSH', KEYS[1], clock[1] .. string.format('%06d', tonumber(clock[2])))
redis.call('LTRIM', KEYS[1], 0, budget - 1)
redis.call('PEXPIRE', KEYS[1], 1000)
if #KEYS > 2 and ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], '1') end
return 0
"""


@dataclass(frozen=True)
class Fence:
    """A delivery's lease on its lead: its requests go out only while `token` holds it."""

    lead_id: str
    token: str


class CallbellRateLimit:
    """A moving one-second window: fewer than `rps` requests in any second, across all workers."""

    def __init__(self, redis: Redis, rps: float):
        self.budget = max(1, int(rps * HEADROOM))
        self._admit = redis.register_script(ADMIT)

    def acquire(self, fence: Fence | None = None, mark: str = "") -> float:
        """Block until a request may be sent; return how long it waited, in seconds.

        With a `fence`, raise LeaseLost as soon as its token no longer holds the lease (nothing is
        sent); with `mark`, set that field on the fence's lead as the request is admitted.
        """
        keys = [CALLBELL_WINDOW, *((lease_key(fence.lead_id), lead_key(fence.lead_id)) if fence else ())]
        args = [self.budget, fence.token if fence else "", mark]
        waited = 0.0
        while (answer := int(self._admit(keys=keys, args=args))) != 0:
            if answer < 0:
                raise LeaseLost(lease_key(fence.lead_id) if fence else "")
            pause = answer / 1_000_000 + random.uniform(0, MAX_SPREAD_SECONDS)
            time.sleep(pause)
            waited += pause
        return waited
