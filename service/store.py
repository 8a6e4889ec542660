"""The lead store in Redis: every write that must go together goes in one transaction."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError
from rq import Queue

from service import dead_groups, metrics
from service import lead_index as index
from service.keys import (
    DEAD_INDEX,
    DEAD_STATUSES,
    DEDUP_PREFIX,
    METRIC_COUNTERS,
    PENDING_INDEX,
    PENDING_STATUSES,
    Status,
    lead_key,
    lease_key,
)
from service.lease import Leases
from service.queueing import DeliveryJobs, enqueue_delivery
from service.records import MAX_EXCHANGES, NewLead, decode_record, new_record
from service.settings import Settings

DAY = 86_400

# Writes a lead and its delivery job unless its dedup key already names a stored lead; then it
# writes nothing (no job to take back out: a duplicate costs the same however long the queue is)
# and answers the stored lead's id and status.
# KEYS: lead, dedup key ("" for none), metrics counters, pending index, the console's indexes (all
# leads, the source's, the status's), the hour's stats, then the lead's search sets.
# ARGV: lead id, retention, dedup window, counter field if stored, counter field if duplicate,
# job id ("" for none), received at, stats field if stored, if duplicate, stats time to live, the
# number of record items, the record's field/value pairs, then the job's commands as RQ wrote them
# (each one its length, then its words).
STORE_ONCE = """
if KEYS[2] ~= '' then
  local original = redis.call('GET', KEYS[2])
  if original then
    local status = redis.call('HGET', 'leadrelay:lead:' .. original, 'status')
    if status then
      if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[5], 1) end
      redis.call('HINCRBY', KEYS[8], ARGV[9], 1)
      redis.call('EXPIRE', KEYS[8], ARGV[10])
      return {original, status}
    end
  end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
end
local record_end = 11 + tonumber(ARGV[11])
local i = record_end + 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
redis.call('HSET', KEYS[1], unpack(ARGV, 12, record_end))
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[4], redis.call('TIME')[1], ARGV[1]) end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[4], 1) end
for k = 5, 7 do redis.call('ZADD', KEYS[k], ARGV[7], ARGV[1]) end
redis.call('HINCRBY', KEYS[8], ARGV[8], 1)
redis.call('EXPIRE', KEYS[8], ARGV[10])
for k = 9, #KEYS do redis.call('SADD', KEYS[k], ARGV[1]) end
return false
"""


class LeadStore:
    """Reads and writes lead records; every write that must go together goes in one transaction."""

    def __init__(self, redis: Redis, queue: Queue, settings: Settings):
        self._store_once = redis.register_script(STORE_ONCE)
        self.redis = redis
        self.queue = queue
        self.job_timeout = settings.job_timeout
        self.jobs = DeliveryJobs(queue, settings.job_timeout)
        self.retention = settings.lead_retention_days * DAY
        self.dead_retention = settings.dead_letter_retention_days * DAY
        self.dedup_window = settings.dedup_window_hours * 3600
        self.leases = Leases(redis, PENDING_STATUSES)
        self.finder = index.Finder(redis)

    def accept(
        self,
        lead: NewLead,
        dedup_key: str | None = None,
        counters: tuple[str, str] = ("", ""),
        events: Callable[[Pipeline], None] | None = None,
        finds: list[str] | None = None,
    ) -> tuple[str, str | None]:
        """Store a lead and enqueue its delivery, both or neither; return (lead id, status if duplicate).

        One script, one round trip: unless the dedup key names a stored lead, it writes the record,
        the dedup key and the RQ job (atomically: a crash leaves both or neither, and a sender that
        got no 202 retries); for a duplicate it writes nothing. `counters` are the metrics fields
        for a stored lead and for a duplicate; `finds` the lead's search keys (lead_index.Finder).
        """
        lead_id = uuid.uuid4().hex
        fields = {**new_record(lead_id, lead), "status": lead.status}
        if finds:
            fields["finds"] = " ".join(finds)
        commands: list[Any] = []
        if lead.enqueue:
            # The script runs the job's commands only for a lead that is not a duplicate, so
            # nothing has to be taken back out of the queue.
            fields["job_id"], job = self.jobs.commands(lead_id)
            for command in job:
                commands += [len(command), *command]
        record = [part for pair in fields.items() for part in pair]
        dedup = f"{DEDUP_PREFIX}{dedup_key}" if dedup_key else ""
        at = fields["received_at"]
        keys = [
            *(lead_key(lead_id), dedup, METRIC_COUNTERS, PENDING_INDEX),
            *(index.LEADS_INDEX, index.source_index(lead.source), index.status_index(lead.status)),
            index.stats_key(at),
            *(finds or ()),
        ]
        args = [
            *(lead_id, self.retention, self.dedup_window, *counters, fields.get("job_id", ""), at),
            index.stats_field(lead.source, lead.status),
            index.stats_field(lead.source, "duplicate"),
            index.STATS_TTL,
            len(record),
            *record,
            *commands,
        ]
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.evalsha(self._store_once.sha, len(keys), *keys, *args)
            if events:
                events(pipe)  # metrics ride along in the same round trip
            answers = pipe.execute(raise_on_error=False)
        original = answers[0]
        if isinstance(original, NoScriptError):  # Redis restarted and forgot the script: not run
            original = self._store_once(keys=keys, args=args)
        elif isinstance(original, Exception):
            raise original
        if original:
            return original[0].decode(), original[1].decode()
        return lead_id, None

    def reject(self, lead: NewLead, errors: dict[str, Any], finds: list[str] | None = None) -> str:
        """Keep a lead that failed validation as a dead letter, so it can be replayed once fixed."""
        lead_id = uuid.uuid4().hex
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                lead_key(lead_id),
                mapping={**new_record(lead_id, lead), "status": Status.REJECTED, "updated_at": now},
            )
            self._index_dead(pipe, lead_id, now, Status.REJECTED, "failed validation", json.dumps(errors))
            metrics.count(pipe, metrics.DEAD_LETTERS_CREATED, status=Status.REJECTED)
            index.file_new(pipe, lead_id, lead.source, Status.REJECTED, now, finds or [])
            if finds:
                pipe.hset(lead_key(lead_id), "finds", " ".join(finds))
            pipe.execute()
        return lead_id

    def requeue(self, lead_id: str, contact: dict[str, Any] | None, delivery_mode: str = "upsert") -> None:
        """Put a dead letter back on the queue with a rebuilt contact request (a replay)."""
        key = lead_key(lead_id)
        group = self.redis.hget(key, "dead_group")
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.multi()
            job = enqueue_delivery(self.queue, lead_id, pipeline=pipe, job_timeout=self.job_timeout)
            pipe.hset(
                key,
                mapping={
                    "status": Status.QUEUED,
                    "contact": json.dumps(contact),
                    "job_id": job.id,
                    "delivery_mode": delivery_mode,
                    "updated_at": time.time(),
                    "attempt_count": 0,
                },
            )
            pipe.hdel(key, "reason", "errors", "dead_at", "next_attempt_at", "dead_group")
            pipe.zrem(DEAD_INDEX, lead_id)
            dead_groups.unfile(pipe, lead_id, group)
            pipe.zadd(PENDING_INDEX, {lead_id: time.time()})
            pipe.expire(key, self.retention)
            index.set_status(pipe, lead_id, Status.QUEUED)
            pipe.execute()

    def update_rejected(self, lead_id: str, errors: dict[str, Any]) -> None:
        """Make a stored lead a `rejected` dead letter (a replay or a fetched Meta lead that is invalid)."""
        key = lead_key(lead_id)
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"status": Status.REJECTED, "updated_at": now})
            self._index_dead(pipe, lead_id, now, Status.REJECTED, "failed validation", json.dumps(errors))
            index.set_status(pipe, lead_id, Status.REJECTED, now)
            pipe.execute()

    def _index_dead(
        self, pipe: Pipeline, lead_id: str, now: float, status: str, reason: str, errors: str | None
    ) -> None:
        """Make a stored lead a dead letter: listed, grouped by cause, kept for the retention."""
        fields = {"dead_at": now, "reason": reason, **({"errors": errors} if errors else {})}
        pipe.hset(lead_key(lead_id), mapping=fields)
        pipe.zadd(DEAD_INDEX, {lead_id: now})
        dead_groups.file(pipe, lead_id, status, reason, errors, now)
        pipe.expire(lead_key(lead_id), self.dead_retention)

    def save_fetched(self, lead_id: str, lead: dict[str, Any]) -> None:
        """Keep a lead fetched from its sender (Meta), so a replay need not fetch it again."""
        self.redis.hset(lead_key(lead_id), "fetched", json.dumps(lead))

    def save_contact(self, lead_id: str, contact: dict[str, Any]) -> None:
        """Keep the contact request built by the worker."""
        self.redis.hset(lead_key(lead_id), "contact", json.dumps(contact))

    def finish_attempt(
        self,
        lead_id: str,
        status: str,
        attempt_count: int,
        exchanges: list[dict[str, Any]],
        events: Callable[[Pipeline], None] | None = None,
        lease_token: str = "",
        source: str = "",
        **fields: Any,
    ) -> None:
        """Record an attempt's exchanges and the lead's new status in one transaction.

        With `lease_token`, the write happens only while that token holds the lead's lease, and
        gives the lease back; otherwise LeaseLost is raised and nothing is written.
        """
        key = lead_key(lead_id)
        now = time.time()
        mapping = {
            "status": status,
            "attempt_count": attempt_count,
            "updated_at": now,
            "attempts": json.dumps(exchanges[-MAX_EXCHANGES:]),
            **fields,
        }

        def write(pipe: Pipeline) -> None:
            pipe.hset(key, mapping=mapping)
            if status in DEAD_STATUSES:
                self._index_dead(pipe, lead_id, now, status, fields.get("reason", ""), fields.get("errors"))
                metrics.count(pipe, metrics.DEAD_LETTERS_CREATED, status=status)
            else:
                pipe.expire(key, self.retention)
            if status in PENDING_STATUSES:
                pipe.zadd(PENDING_INDEX, {lead_id: fields.get("next_attempt_at", now)})
            else:
                pipe.zrem(PENDING_INDEX, lead_id)
            index.set_status(pipe, lead_id, status, now)
            if source:
                index.count(pipe, source, status, now)
            if events:
                events(pipe)  # metrics ride along in the same round trip
            if lease_token:
                pipe.delete(lease_key(lead_id))

        if lease_token:
            self.leases.fenced(lease_key(lead_id), lease_token, write)
            return
        with self.redis.pipeline(transaction=True) as pipe:
            write(pipe)
            pipe.execute()

    def delete(self, lead_id: str) -> bool:
        """Remove a lead for good, from every index too; False when there was none."""
        source, finds, group = self.redis.hmget(lead_key(lead_id), "source", "finds", "dead_group")
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(lead_key(lead_id))
            pipe.zrem(DEAD_INDEX, lead_id)
            dead_groups.unfile(pipe, lead_id, group)
            pipe.zrem(PENDING_INDEX, lead_id)
            index.forget(pipe, lead_id, (source or b"").decode(), (finds or b"").decode().split())
            deleted = pipe.execute()[0]
        return bool(deleted)

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return the decoded record, or None when there is no such lead."""
        raw = self.redis.hgetall(lead_key(lead_id))
        return decode_record(raw) if raw else None
