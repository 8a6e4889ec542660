"""The idempotency key of a lead: what makes two requests the same lead."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def dedup_key(
    source: str, headers: Mapping[str, str], event_id: str | None, contact: dict[str, Any] | None
) -> str:
    """Pick the key in order: Idempotency-Key, webhook-id, the sender's event id, the normalised contact.

    The key is hashed with the source name, so two sources never collide and no sender value is
    stored as a Redis key name.
    """
    for kind, value in (
        ("idempotency-key", headers.get("Idempotency-Key")),
        ("webhook-id", headers.get("webhook-id")),
        ("event", event_id),
    ):
        if value:
            return _digest(source, kind, value)
    return _digest(source, "contact", json.dumps(contact, sort_keys=True))


def _digest(source: str, kind: str, value: str) -> str:
    """A fixed-length key for one source, one kind of key, one value."""
    return hashlib.sha256(f"{source}\0{kind}\0{value}".encode()).hexdigest()
