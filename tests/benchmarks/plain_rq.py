"""The baseline: the plain RQ way, a function that delivers one lead with a new HTTP connection per call."""

from __future__ import annotations

import json
import os

import requests
from redis import Redis


def deliver_plain(lead_id: str) -> str:
    """Look the phone up, then create or update, with module-level requests calls (no session reuse)."""
    redis = Redis.from_url(os.environ["REDIS_URL"])
    contact = json.loads(redis.hget(f"leadrelay:lead:{lead_id}", "contact"))
    base = os.environ["CALLBELL_API_URL"]
    found = requests.get(f"{base}/contacts/phone/{contact['identifier']}", timeout=10)
    if found.status_code == 404:
        requests.post(f"{base}/contacts", json=contact, timeout=10).raise_for_status()
    else:
        uuid = found.json()["contact"]["uuid"]
        requests.patch(
            f"{base}/contacts/{uuid}", json={"tags": contact["tags"]}, timeout=10
        ).raise_for_status()
    redis.hset(f"leadrelay:lead:{lead_id}", "status", "delivered")
    return "delivered"
