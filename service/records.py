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
from service.settings import Settings
from workers.queueing import enqueue_delivery

KEY_PREFIX = "leadrelay"
DEAD_INDEX = f"{KEY_PREFIX}:dead"  # sorted set: lead id -> time it became a dead letter
DEAD_STATUSES = ("dead", "rejected")
DEDUP_PREFIX = f"{KEY_PREFIX}:dedup:"
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


def lead_key(lead_id: str) -> str:
    """Return the Redis key of a lead record."""
    return f"{KEY_PREFIX}:lead:{lead_id}"


class LeadStore:
    """Reads and writes lead records; every write that must go together goes in one transaction."""

    def __init__(self, redis: Redis, queue: Queue, settings: Settings):
        self.redis = redis
        self.queue = queue
        self.job_timeout = settings.job_timeout
        self.retention = settings.lead_retention_days * DAY
        self.dead_retention = settings.dead_letter_retention_days * DAY
        self.dedup_window = settings.dedup_window_hours * 3600

    def accept(
        self, lead: NewLead, dedup_key: str | None = None, events: Callable[[Pipeline], None] | None = None
    ) -> tuple[str, str | None]:
        """Store a lead and enqueue its delivery, both or neither; return (lead id, status if duplicate).

        The record, the dedup key and the RQ job go to Redis in one MULTI/EXEC: a crash before EXEC
        stores nothing (the sender got no 202 and retries), a crash after it leaves all three, so a
        lead answered 202 always has a job that will deliver it. WATCH on the dedup key makes two
        copies of one lead arriving together store it once.
        """
        lead_id = uuid.uuid4().hex
        key = f"{DEDUP_PREFIX}{dedup_key}" if dedup_key else None
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    if key:
                        pipe.watch(key)
                        original = pipe.get(key)
                        if original is not None:
                            status = pipe.hget(lead_key(original.decode()), "status")
                            if status is not None:
                                pipe.unwatch()
                                return original.decode(), status.decode()
                    pipe.multi()
                    fields = {**self._new_record(lead_id, lead), "status": "queued"}
                    if lead.enqueue:
                        job = enqueue_delivery(
                            self.queue, lead_id, pipeline=pipe, job_timeout=self.job_timeout
                        )
                        fields["job_id"] = job.id
                    else:
                        fields["status"] = lead.status
                    pipe.hset(lead_key(lead_id), mapping=fields)
                    pipe.expire(lead_key(lead_id), self.retention)
                    if key:
                        pipe.set(key, lead_id, ex=self.dedup_window)
                    if events:
                        events(pipe)  # metrics ride along in the same round trip
                    pipe.execute()
                    return lead_id, None
                except WatchError:
                    continue  # another copy of this lead was stored meanwhile: answer it as a duplicate

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
                    "dead_at": now,
                    "errors": json.dumps(errors),
                    "updated_at": now,
                },
            )
            pipe.zadd(DEAD_INDEX, {lead_id: now})
            pipe.expire(key, self.dead_retention)
            pipe.execute()

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
        **fields: Any,
    ) -> None:
        """Record an attempt's exchanges and the lead's new status in one transaction."""
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
            pipe.hset(key, mapping=mapping)
            if status in DEAD_STATUSES:
                pipe.hset(key, "dead_at", now)
                pipe.zadd(DEAD_INDEX, {lead_id: now})
                pipe.expire(key, self.dead_retention)
                metrics.count(pipe, "dead_letters_created", status=status)
            else:
                pipe.expire(key, self.retention)
            if events:
                events(pipe)  # metrics ride along in the same round trip
            pipe.execute()

    def delete(self, lead_id: str) -> bool:
        """Remove a lead for good; False when there was none."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(lead_key(lead_id))
            pipe.zrem(DEAD_INDEX, lead_id)
            deleted, _ = pipe.execute()
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
