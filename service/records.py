"""The lead record: what intake hands over, the fields a record starts with, and how it reads back."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from service.keys import Status

# A lead keeps its latest exchanges with Callbell; older ones are dropped so a record stays small.
MAX_EXCHANGES = 50
JSON_FIELDS = ("contact", "errors", "attempts", "fetched")
TIME_FIELDS = (
    *("received_at", "updated_at", "delivered_at", "dead_at", "next_attempt_at"),
    *("welcome_at", "welcome_sent_at", "welcome_status_at"),
)


@dataclass(frozen=True)
class NewLead:
    """A lead as intake hands it over: what arrived and, once built, its contact request."""

    source: str
    content_type: str
    body: bytes
    contact: dict[str, Any] | None = None  # None: built by the worker (Meta leads are fetched first)
    delivery_mode: str = "upsert"
    enqueue: bool = True  # False for leads kept but not delivered (test leads)
    status: str = Status.QUEUED
    reason: str = ""


def new_record(lead_id: str, lead: NewLead) -> dict[str, Any]:
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


def decode_record(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """Turn a Redis hash into a record with JSON fields parsed and the body kept as bytes."""
    record: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.decode()
        if name == "body":
            record[name] = value
        elif name in JSON_FIELDS:
            record[name] = json.loads(value)
        elif name in TIME_FIELDS:
            record[name] = float(value)
        elif name == "attempt_count":
            record[name] = int(value)
        else:
            record[name] = value.decode()
    record.setdefault("attempts", [])
    return record
