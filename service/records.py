"""Lead records in Redis: written at intake, updated by the workers, read by operators."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Queue

from service import metrics
from service.lease import LeaseLost, Leases, lease_key
from service.settings import Settings
from workers.queueing import enqueue_delivery

KEY_PREFIX = "leadrelay"
DEAD_INDEX = f"{KEY_PREFIX}:dead"  # sorted set: lead id -> time it became a dead letter
DEAD_STATUSES = ("dead", "rejected")
DEDUP_PREFIX = f"{KEY_PREFIX}:dedup:"
# sorted set: lead id -> when its job should have run; what the sweeper checks for lost jobs
PENDING_INDEX = f"{KEY_PREFIX}:pending"
PENDING_STATUSES = ("queued", "retrying")
DAY = 86_400
# A lead keeps its latest exchanges with Callbell; older ones are dropped so a record stays small.
MAX_EXCHANGES = 50


@dataclass(frozen=True)
class NewLead:
    """A lead as intake hands it over: what arrived and, once built, its contact request."""

    source: str
    content_type: str
    body: bytes
    contact: dict[str, Any] | None = None  # None: built by the worker (Meta leads are fetched first)
    delivery_mode: str = "upsert"
    enqueue: bool = True  # False for leads kept but not delivered (test leads)
    status: str = "queued"
    reason: str = ""


# Writes a lead unless its dedup key already names a stored one; then it takes back the job queued
# just before it in the same transaction and answers the stored lead's id and status.
# KEYS: lead, dedup key ("" for none), metrics counters, queue, job ("" for none), pending index.
# ARGV: lead id, retention, dedup window, counter field if stored, counter field if duplicate,
# job id ("" for none), then the record's field/value pairs.
STORE_ONCE = """
if KEYS[2] ~= '' then
  local original = redis.call('GET', KEYS[2])
  if original then
    local status = redis.call('HGET', 'leadrelay:lead:' .. original, 'status')
    if status then
      if ARGV[6] ~= '' then
        redis.call('LREM', KEYS[4], 0, ARGV[6])
        redis.call('DEL', KEYS[5])
      end
      if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[5], 1) end
      return {original, status}
    end
  end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[6], redis.call('TIME')[1], ARGV[1]) end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[4], 1) end
return false
"""


def lead_key(lead_id: str) -> str:
    """Return the Redis key of a lead record."""
    return f"{KEY_PREFIX}:lead:{lead_id}"


class LeadStore:
    """Reads and writes lead records; every write that must go together goes in one transaction."""

    def __init__(self, redis: Redis, queue: Queue, settings: Settings):
        self._store_once = redis.register_script(STORE_ONCE)
        self.redis = redis
        self.queue = queue
        self.job_timeout = settings.job_timeout
        self.retention = settings.lead_retention_days * DAY
        self.dead_retention = settings.dead_letter_retention_days * DAY
        self.dedup_window = settings.dedup_window_hours * 3600
        self.leases = Leases(redis, PENDING_STATUSES)

    def accept(
        self,
        lead: NewLead,
        dedup_key: str | None = None,
        counters: tuple[str, str] = ("", ""),
        events: Callable[[Pipeline], None] | None = None,
    ) -> tuple[str, str | None]:
        """Store a lead and enqueue its delivery, both or neither; return (lead id, status if duplicate).

        One MULTI/EXEC, one round trip: the RQ job's commands and a script that, unless the dedup
        key names a stored lead, writes the record and the dedup key. A crash before EXEC stores
        nothing (the sender got no 202 and retries); after it, record and job both exist. For a
        duplicate the script writes nothing and takes the just-queued job back out.
        `counters` are the metrics fields counted for a stored lead and for a duplicate.
        """
        lead_id = uuid.uuid4().hex
        fields = {**self._new_record(lead_id, lead), "status": lead.status}
        job_key = ""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.multi()
            if lead.enqueue:
                job = enqueue_delivery(self.queue, lead_id, pipeline=pipe, job_timeout=self.job_timeout)
                fields["job_id"], job_key = job.id, job.key
            flat = [part for pair in fields.items() for part in pair]
            script_at = len(pipe)
            dedup = f"{DEDUP_PREFIX}{dedup_key}" if dedup_key else ""
            self._store_once(
                keys=[lead_key(lead_id), dedup, metrics.COUNTERS, self.queue.key, job_key, PENDING_INDEX],
                args=[lead_id, self.retention, self.dedup_window, *counters, fields.get("job_id", ""), *flat],
                client=pipe,
            )
            if events:
                events(pipe)  # metrics ride along in the same round trip
            original = pipe.execute()[script_at]
        if original:
            return original[0].decode(), original[1].decode()
        return lead_id, None

    def reject(self, lead: NewLead, errors: dict[str, Any]) -> str:
        """Keep a lead that failed validation as a dead letter, so it can be replayed once fixed."""
        lead_id = uuid.uuid4().hex
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                lead_key(lead_id),
                mapping={
                    **self._new_record(lead_id, lead),
                    "dead_at": now,
                    "status": "rejected",
                    "reason": "failed validation",
                    "errors": json.dumps(errors),
                },
            )
            pipe.expire(lead_key(lead_id), self.dead_retention)
            pipe.zadd(DEAD_INDEX, {lead_id: now})
            metrics.count(pipe, "dead_letters_created", status="rejected")
            pipe.execute()
        return lead_id

    @staticmethod
    def _new_record(lead_id: str, lead: NewLead) -> dict[str, Any]:
        """The fields every record starts with: what arrived, from where, when, and what it became."""
        now = time.time()
        fields: dict[str, Any] = {
            "id": lead_id,
            "source": lead.source,
            "content_type": lead.content_type,
            "body": lead.body,
            "received_at": now,
            "updated_at": now,
            "delivery_mode": lead.delivery_mode,
        }
        if lead.contact is not None:
            fields["contact"] = json.dumps(lead.contact)
        if lead.reason:
            fields["reason"] = lead.reason
        return fields

    def requeue(self, lead_id: str, contact: dict[str, Any] | None, delivery_mode: str = "upsert") -> None:
        """Put a dead letter back on the queue with a rebuilt contact request (a replay)."""
        key = lead_key(lead_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.multi()
            job = enqueue_delivery(self.queue, lead_id, pipeline=pipe, job_timeout=self.job_timeout)
            pipe.hset(
                key,
                mapping={
                    "status": "queued",
                    "contact": json.dumps(contact),
                    "job_id": job.id,
                    "delivery_mode": delivery_mode,
                    "updated_at": time.time(),
                    "attempt_count": 0,
                },
            )
            pipe.hdel(key, "reason", "errors", "dead_at", "next_attempt_at")
            pipe.zrem(DEAD_INDEX, lead_id)
            pipe.zadd(PENDING_INDEX, {lead_id: time.time()})
            pipe.expire(key, self.retention)
            pipe.execute()

    def update_rejected(self, lead_id: str, errors: dict[str, Any]) -> None:
        """Make a stored lead a `rejected` dead letter (a replay or a fetched Meta lead that is invalid)."""
        key = lead_key(lead_id)
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "status": "rejected",
                    "reason": "failed validation",
                    "errors": json.dumps(errors),
                    "updated_at": now,
                },
            )
            self._index_dead(pipe, lead_id, now)
            pipe.execute()

    def _index_dead(self, pipe: Pipeline, lead_id: str, now: float) -> None:
        """Make a stored lead a dead letter: listed, timed, and kept for the dead-letter retention."""
        pipe.hset(lead_key(lead_id), "dead_at", now)
        pipe.zadd(DEAD_INDEX, {lead_id: now})
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
        with self.redis.pipeline(transaction=True) as pipe:
            if lease_token:
                pipe.watch(lease_key(lead_id))
                if pipe.get(lease_key(lead_id)) != lease_token.encode():
                    raise LeaseLost(lead_id)
                pipe.multi()
            pipe.hset(key, mapping=mapping)
            if status in DEAD_STATUSES:
                self._index_dead(pipe, lead_id, now)
                metrics.count(pipe, "dead_letters_created", status=status)
            else:
                pipe.expire(key, self.retention)
            if status in PENDING_STATUSES:
                pipe.zadd(PENDING_INDEX, {lead_id: fields.get("next_attempt_at", now)})
            else:
                pipe.zrem(PENDING_INDEX, lead_id)
            if events:
                events(pipe)  # metrics ride along in the same round trip
            if lease_token:
                pipe.delete(lease_key(lead_id))
            try:
                pipe.execute()
            except WatchError:
                raise LeaseLost(lead_id) from None

    def delete(self, lead_id: str) -> bool:
        """Remove a lead for good; False when there was none."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(lead_key(lead_id))
            pipe.zrem(DEAD_INDEX, lead_id)
            pipe.zrem(PENDING_INDEX, lead_id)
            deleted, _, _ = pipe.execute()
        return bool(deleted)

    def get(self, lead_id: str) -> dict[str, Any] | None:
        """Return the decoded record, or None when there is no such lead."""
        raw = self.redis.hgetall(lead_key(lead_id))
        return decode_record(raw) if raw else None


def decode_record(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """Turn a Redis hash into a record with JSON fields parsed and the body kept as bytes."""
    record: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.decode()
        if name == "body":
            record[name] = value
        elif name in ("contact", "errors", "attempts", "fetched"):
            record[name] = json.loads(value)
        elif name in ("received_at", "updated_at", "delivered_at", "dead_at", "next_attempt_at"):
            record[name] = float(value)
        elif name == "attempt_count":
            record[name] = int(value)
        else:
            record[name] = value.decode()
    record.setdefault("attempts", [])
    return record


def public_view(record: dict[str, Any]) -> dict[str, Any]:
    """The record as operators see it over HTTP and in the CLI: times in ISO 8601, body as text."""
    view = {k: v for k, v in record.items() if k not in ("body", "dedup_key")}
    for name in ("received_at", "updated_at", "delivered_at", "dead_at", "next_attempt_at"):
        if name in view:
            view[name] = iso(view[name])
    view["payload"] = record.get("body", b"").decode("utf-8", errors="replace")
    return view


def iso(timestamp: float) -> str:
    """Format a Unix time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
