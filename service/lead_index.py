"""What the console reads instead of scanning records: indexes of leads and hourly counts.

- every lead by time of receipt, and by source (sorted sets, lead id -> received at);
- every lead by status (sorted sets, lead id -> when it took that status);
- a search by phone and by email: a set of lead ids under a keyed hash of the normalised value,
  so no Redis key holds personal data in clear;
- counts per hour, source and outcome, and a histogram of receipt-to-delivery latency per hour.

Writers queue these commands on the pipeline (or inside the script) that writes the record
anyway: the index costs no extra round trip. Entries past the retention are trimmed by the
workers' maintenance, and readers skip ids whose record has expired.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from redis import Redis
from redis.client import Pipeline

from service.keys import KEY_PREFIX, STATUSES, WELCOME_ATTENTION

LEADS_INDEX = f"{KEY_PREFIX}:leads"
SEARCH_KEY_NAME = f"{KEY_PREFIX}:search-key"  # the hashing key, made once per Redis
HOUR = 3600
STATS_TTL = 8 * 24 * HOUR  # the console shows 7 days
# Receipt-to-delivery latency buckets, in seconds, for the console's p50/p95.
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * HOUR, 86400)


def source_index(source: str) -> str:
    """The sorted set of a source's leads by time of receipt."""
    return f"{KEY_PREFIX}:leads:source:{source}"


def status_index(status: str) -> str:
    """The sorted set of the leads that have `status` now, by when they took it."""
    return f"{KEY_PREFIX}:leads:status:{status}"


def welcome_index(state: str) -> str:
    """The sorted set of the leads whose welcome needs a person (`unknown` or `failed`), by when."""
    return f"{KEY_PREFIX}:leads:welcome:{state}"


def stats_key(at: float) -> str:
    """The hash of one hour's counts (`source|outcome` -> n)."""
    return f"{KEY_PREFIX}:stats:{int(at // HOUR) * HOUR}"


def latency_key(at: float) -> str:
    """The hash of one hour's delivery latencies (`bucket` -> n)."""
    return f"{KEY_PREFIX}:latency:{int(at // HOUR) * HOUR}"


def stats_field(source: str, outcome: str) -> str:
    """The field a lead's outcome is counted under."""
    return f"{source}|{outcome}"


class Finder:
    """Turns a phone or an email into the key of its search set (a keyed hash, never the value)."""

    def __init__(self, redis: Redis):
        self.redis = redis
        self._key = b""

    @property
    def key(self) -> bytes:
        """The hashing key: one per Redis, made by whichever process needs it first, read once."""
        if not self._key:
            self.redis.set(SEARCH_KEY_NAME, secrets.token_hex(32), nx=True)
            self._key = bytes.fromhex(self.redis.get(SEARCH_KEY_NAME).decode())
        return self._key

    def search_key(self, kind: str, value: str) -> str:
        """The Redis key of the leads whose `kind` ("phone" or "email") is `value` (normalised)."""
        normal = "".join(ch for ch in value if ch.isdigit()) if kind == "phone" else value.strip().lower()
        digest = hmac.new(self.key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{KEY_PREFIX}:find:{digest}"

    def keys_for(self, phone: str | None, email: str | None) -> list[str]:
        """The search keys a lead with this phone and email is filed under."""
        found = [self.search_key("phone", phone)] if phone else []
        return found + ([self.search_key("email", email)] if email and "@" in email else [])


def file_new(pipe: Pipeline, lead_id: str, source: str, status: str, at: float, finds: list[str]) -> None:
    """Index a new lead (for writers outside the intake script, which does the same in Lua)."""
    pipe.zadd(LEADS_INDEX, {lead_id: at})
    pipe.zadd(source_index(source), {lead_id: at})
    pipe.zadd(status_index(status), {lead_id: at})
    for key in finds:
        pipe.sadd(key, lead_id)
    count(pipe, source, status, at)


def set_status(pipe: Pipeline, lead_id: str, status: str, at: float | None = None) -> None:
    """Move a lead to the index of its new status."""
    for other in STATUSES:
        if other != status:
            pipe.zrem(status_index(other), lead_id)
    pipe.zadd(status_index(status), {lead_id: at or time.time()})


def count(pipe: Pipeline, source: str, outcome: str, at: float | None = None, amount: int = 1) -> None:
    """Count an outcome in its hour."""
    key = stats_key(at or time.time())
    pipe.hincrby(key, stats_field(source, outcome), amount)
    pipe.expire(key, STATS_TTL)


def speed_key(at: float) -> str:
    """The hash of one hour's receipt-to-welcome times (`bucket` -> n)."""
    return f"{KEY_PREFIX}:speed:{int(at // HOUR) * HOUR}"


def observe_latency(pipe: Pipeline, seconds: float, at: float | None = None, welcome: bool = False) -> None:
    """Count one receipt-to-delivery (or, with `welcome`, receipt-to-welcome) time in its hour."""
    bucket = next((b for b in LATENCY_BUCKETS if seconds <= b), "inf")
    key = (speed_key if welcome else latency_key)(at or time.time())
    pipe.hincrby(key, str(bucket), 1)
    pipe.expire(key, STATS_TTL)


def forget(pipe: Pipeline, lead_id: str, source: str, finds: list[str]) -> None:
    """Take a lead out of every index (a purge or an erasure)."""
    pipe.zrem(LEADS_INDEX, lead_id)
    pipe.zrem(source_index(source), lead_id)
    for status in STATUSES:
        pipe.zrem(status_index(status), lead_id)
    for state in WELCOME_ATTENTION:
        pipe.zrem(welcome_index(state), lead_id)
    for key in finds:
        pipe.srem(key, lead_id)


def trim(redis: Redis, sources: Any, older_than: float) -> None:
    """Drop index entries older than the retention (their records have expired)."""
    with redis.pipeline(transaction=False) as pipe:
        for key in [
            *(LEADS_INDEX, *(source_index(s) for s in sources), *(status_index(s) for s in STATUSES)),
            *(welcome_index(s) for s in WELCOME_ATTENTION),
        ]:
            pipe.zremrangebyscore(key, "-inf", older_than)
        pipe.execute()
