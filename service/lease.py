"""One delivery of a lead at a time: a lease in Redis that a job holds while it talks to Callbell.

RQ and the lost-job sweep can both give a lead a job (RQ re-enqueues an abandoned job, the sweep
gives a lead whose job it judges lost a new one), so two jobs for one lead can exist. The lease
makes that harmless: a job takes it, together with the record, in one atomic step before any
request to Callbell; a job that finds it held steps aside; and a job that finds the lead already
finished does nothing. The holder's outcome is written only while it still holds the lease.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.client import Pipeline

from service.keys import lease_key

# A lease outlives its job's timeout by this much. SimpleWorker's job timeout stops a live delivery
# before its lease expires, so a live holder never loses it; a killed holder frees it this long
# after the job timeout.
LEASE_GRACE_SECONDS = 5

# KEYS: lead record, lease. ARGV: token, lease time in ms, then the statuses a delivery may start from.
# Returns {"gone"}, {"done", status}, {"held", ms left} or {"taken", field, value, ...}.
TAKE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'gone'} end
local pending = false
for i = 3, #ARGV do if ARGV[i] == status then pending = true end end
if not pending then return {'done', status} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'held', redis.call('PTTL', KEYS[2])}
end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, 'taken')
return out
"""

# Runs a batch of commands only while a token holds a lease, in one round trip.
# KEYS: the lease. ARGV: the token, then the commands (each its length, then its words).
FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1
"""


class LeaseLost(Exception):
    """The lease expired or another job holds it now: this job must not write an outcome."""


@dataclass(frozen=True)
class Claim:
    """What taking the lease found: `taken` (with the raw record), `held`, `done` or `gone`."""

    state: str
    record: dict[bytes, bytes] | None = None
    wait_seconds: float = 0.0
    status: str = ""


class Leases:
    """Takes and checks delivery leases; the lease is released by the write of the outcome."""

    def __init__(self, redis: Redis, pending: tuple[str, ...]):
        self.redis = redis
        self.pending = pending
        self._take = redis.register_script(TAKE)
        self._fenced = redis.register_script(FENCED)

    def take(self, lead_id: str, lead_key: str, token: str, job_timeout: int) -> Claim:
        """Take the lead's lease and read its record in one step, unless it is held or finished.

        The lease lasts the job's timeout plus a grace: the job cannot outlive it.
        """
        ttl_ms = (job_timeout + LEASE_GRACE_SECONDS) * 1000
        reply: list[Any] = self._take(
            keys=[lead_key, lease_key(lead_id)], args=[token, ttl_ms, *self.pending]
        )
        state = reply[0].decode()
        if state == "taken":
            return Claim(state, record=dict(zip(reply[1::2], reply[2::2], strict=True)))
        if state == "held":
            return Claim(state, wait_seconds=max(int(reply[1]), 0) / 1000)
        return Claim(state, status=reply[1].decode() if len(reply) > 1 else "")

    def fenced(self, lease: str, token: str, write: Callable[[Pipeline], None]) -> None:
        """Run what `write` puts on a pipeline atomically, only while `token` holds `lease` (a key).

        One round trip instead of WATCH, GET and MULTI: the commands are recorded on a pipeline
        that is never sent and run by a script that checks the lease first. Raises LeaseLost (and
        writes nothing) when the lease has expired or another job holds it.
        """
        with self.redis.pipeline(transaction=False) as recorder:
            write(recorder)
            flat: list[Any] = []
            for command, _options in recorder.command_stack:
                flat += [len(command), *command]
            recorder.reset()
        if not self._fenced(keys=[lease], args=[token, *flat]):
            raise LeaseLost(lease)
