"""Dead letters: leads that failed delivery (`dead`) or validation (`rejected`); list, replay, purge."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from service import bodies
from service.errors import PayloadError
from service.keys import DEAD_INDEX, DEAD_STATUSES, Status, lead_key
from service.mapping import build_contact, contact_from
from service.records import decode_record
from service.sources import Source
from service.store import LeadStore

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Read `90s`, `30m`, `12h`, `7d` or `2w` as seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not match:
        raise ValueError(f"{text!r}: use a number and a unit, e.g. 30m, 12h, 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_since(text: str) -> float:
    """Read a point in time: ISO 8601 (`2026-11-01T10:00:00Z`) or a duration ago (`2h`)."""
    try:
        return time.time() - parse_duration(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"{text!r}: use ISO 8601 (2026-11-01T10:00:00Z) or a duration ago (2h)") from None


@dataclass(frozen=True)
class Filter:
    """Which dead letters an operation applies to; empty fields match everything."""

    source: str | None = None
    status: str | None = None
    since: float | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        if self.status and self.status not in DEAD_STATUSES:
            raise ValueError(f"status: must be one of {', '.join(DEAD_STATUSES)}")

    @classmethod
    def parse(
        cls,
        source: str | None = None,
        status: str | None = None,
        since: str | None = None,
        older_than: str | None = None,
    ) -> Filter:
        """Build a filter from the words an operator types; a bad value raises ValueError."""
        return cls(
            source=source or None,
            status=status or None,
            since=parse_since(since) if since else None,
            until=time.time() - parse_duration(older_than) if older_than else None,
        )


def list_dead(store: LeadStore, flt: Filter = Filter(), limit: int = 1000) -> list[dict[str, Any]]:
    """Return matching dead letters, newest first; index entries of expired records are dropped."""
    ids = [
        i.decode()
        for i in store.redis.zrevrangebyscore(
            DEAD_INDEX,
            flt.until if flt.until is not None else "+inf",
            flt.since if flt.since is not None else "-inf",
        )
    ]
    with store.redis.pipeline(transaction=False) as pipe:
        for lead_id in ids:
            pipe.hgetall(lead_key(lead_id))
        raws = pipe.execute()
    found, gone = [], []
    for lead_id, raw in zip(ids, raws, strict=True):
        if not raw:
            gone.append(lead_id)
            continue
        record = decode_record(raw)
        if record["status"] not in DEAD_STATUSES:
            continue
        if (flt.source and record["source"] != flt.source) or (flt.status and record["status"] != flt.status):
            continue
        found.append(record)
    if gone:
        store.redis.zrem(DEAD_INDEX, *gone)
    return found[:limit]


def replay(store: LeadStore, sources: dict[str, Source], lead_id: str) -> dict[str, Any]:
    """Rebuild the contact request from the stored payload with today's sources file and deliver it again."""
    record = store.get(lead_id)
    if record is None:
        raise LookupError(f"no lead {lead_id!r}")
    if record["status"] not in DEAD_STATUSES:
        return {
            "lead_id": lead_id,
            "replayed": False,
            "status": record["status"],
            "reason": "not a dead letter",
        }
    source = sources.get(record["source"])
    if source is None:
        return {
            "lead_id": lead_id,
            "replayed": False,
            "status": record["status"],
            "reason": f"source {record['source']!r} is no longer in the sources file",
        }
    try:
        contact = _rebuild(source, record)
    except (ValidationError, PayloadError) as exc:
        errors = exc.messages if isinstance(exc, ValidationError) else {"body": [str(exc)]}
        store.update_rejected(lead_id, errors)
        return {"lead_id": lead_id, "replayed": False, "status": Status.REJECTED, "errors": errors}
    store.requeue(lead_id, contact, source.delivery_mode)
    return {"lead_id": lead_id, "replayed": True, "status": Status.QUEUED}


def _rebuild(source: Source, record: dict[str, Any]) -> dict[str, Any] | None:
    """The contact request from the stored payload; None for a Meta lead not fetched yet (the worker will)."""
    if source.reader.read_fetched:
        return (
            contact_from(source, source.reader.read_fetched(record["fetched"]))
            if record.get("fetched")
            else None
        )
    contact, _ = build_contact(source, bodies.decode(record["content_type"], record["body"]))
    return contact


def purge(store: LeadStore, flt: Filter = Filter()) -> int:
    """Delete the matching dead letters for good; return how many."""
    return sum(store.delete(record["id"]) for record in list_dead(store, flt, limit=10**9))
