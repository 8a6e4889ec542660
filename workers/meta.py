"""Meta Lead Ads: a notification carries only ids, so the worker fetches each lead from the Graph API."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import requests

from workers.callbell import BODY_EXCERPT_CHARS, DEFAULT_CONNECT_TIMEOUT, UpstreamError

GRAPH_FIELDS = "field_data,created_time,form_id,ad_id,campaign_id"


def fetch_lead(
    session: requests.Session,
    graph_url: str,
    token: str,
    leadgen_id: str,
    log: list[dict[str, Any]],
    read_timeout: float,
) -> dict[str, Any]:
    """GET /<leadgen_id> from the Graph API (its base URL comes from settings, never from a payload)."""
    started = time.monotonic()
    entry: dict[str, Any] = {"at": time.time(), "request": "graph_fetch", "status": None}
    try:
        # The token goes in a header: URLs end up in logs, headers do not.
        response = session.get(
            f"{graph_url.rstrip('/')}/{quote(leadgen_id, safe='')}",
            params={"fields": GRAPH_FIELDS},
            headers={"Authorization": f"Bearer {token}"},
            timeout=(DEFAULT_CONNECT_TIMEOUT, read_timeout),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        entry.update(duration_ms=round((time.monotonic() - started) * 1000, 1), error=type(exc).__name__)
        log.append(entry)
        raise UpstreamError("graph_fetch", None, f"no answer ({type(exc).__name__})") from exc
    entry.update(status=response.status_code, duration_ms=round((time.monotonic() - started) * 1000, 1))
    if response.status_code // 100 != 2:
        entry["body"] = response.text[:BODY_EXCERPT_CHARS]
        log.append(entry)
        raise UpstreamError("graph_fetch", response.status_code, f"HTTP {response.status_code}")
    log.append(entry)
    try:
        lead = response.json()
    except ValueError:
        raise UpstreamError("graph_fetch", 502, "the Graph API answered something that is not JSON") from None
    if not isinstance(lead, dict):
        raise UpstreamError("graph_fetch", 502, "the Graph API answer is not a JSON object")
    return lead
