"""The operator's view of a lead record: what the admin API and the CLI show."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.records import TIME_FIELDS


def iso(timestamp: float) -> str:
    """Format a Unix time as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def public_view(record: dict[str, Any]) -> dict[str, Any]:
    """The record as operators see it over HTTP and in the CLI: times in ISO 8601, body as text."""
    view = {k: v for k, v in record.items() if k not in ("body", "dedup_key", "finds")}
    for name in TIME_FIELDS:
        if name in view:
            view[name] = iso(view[name])
    view["payload"] = record.get("body", b"").decode("utf-8", errors="replace")
    return view


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The short form of a dead letter, for listings."""
    return {
        "id": record["id"],
        "source": record["source"],
        "status": record["status"],
        "received_at": iso(record["received_at"]),
        "dead_at": iso(record["dead_at"]) if "dead_at" in record else None,
        "attempts": record.get("attempt_count", 0),
        "reason": record.get("reason", ""),
    }
