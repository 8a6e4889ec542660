"""What the console pages read: counts from the hourly stats, pages of leads from the indexes."""

from __future__ import annotations

import itertools
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from rq import Worker

from service import lead_index as index
from service.contact import parse_phone
from service.keys import DEAD_INDEX, lead_key
from service.metrics import queued_age
from service.records import decode_record
from service.runtime import Runtime

OUTCOMES = ("queued", "delivered", "retrying", "dead", "rejected", "duplicate", "honeypot", "skipped")
RECEIVED = ("queued", "rejected", "skipped")  # what intake stored (a duplicate is not a new lead)
PAGE_SIZE = 50
LEAD_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Overview:
    """The figures of the overview page."""

    hours: list[tuple[float, int]]  # (hour start, leads received) for the last 24 hours
    days: list[tuple[float, int]]  # (day start, leads received) for the last 7 days
    outcomes: dict[str, dict[str, dict[str, int]]]  # "24h"/"7d" -> source -> outcome -> n
    latency: dict[str, tuple[str, str]]  # "24h"/"7d" -> (p50, p95) as text
    speed: dict[str, tuple[str, str]]  # receipt to welcome accepted: "24h"/"7d" -> (p50, p95)
    callbell_requests: int = 0  # sent this hour (UTC), by every worker
    budget_share: float = 0.0  # those requests / what the budget allows in that time
    queue_depth: int = 0
    oldest_queued_seconds: float = 0.0
    retries_scheduled: int = 0
    workers: int = 0
    dead_letters: int = 0
    warnings: list[str] = field(default_factory=list)


def overview(rt: Runtime, now: float | None = None) -> Overview:
    """Read the overview's figures: 7 days of hourly stats and the queue's state, in two round trips."""
    now = now or time.time()
    starts = [now - h * index.HOUR for h in range(7 * 24)]
    with rt.redis.pipeline(transaction=False) as pipe:
        for at in starts:
            pipe.hgetall(index.stats_key(at))
        for at in starts:
            pipe.hgetall(index.latency_key(at))
        for at in starts:
            pipe.hgetall(index.speed_key(at))
        pipe.llen(rt.queue.key)
        pipe.lindex(rt.queue.key, -1)  # RQ pushes on the right and pops on the left: the oldest is first
        pipe.lindex(rt.queue.key, 0)
        pipe.zcard(rt.queue.scheduled_job_registry.key)
        pipe.zcard(DEAD_INDEX)
        replies = pipe.execute()
    n = len(starts)
    stats, latencies, speeds = replies[:n], replies[n : 2 * n], replies[2 * n : 3 * n]
    depth, _, oldest, scheduled, dead = replies[3 * n :]
    counts = [_decode(h) for h in stats]
    view = Overview(
        hours=[(_hour(starts[h]), _received(counts[h])) for h in reversed(range(24))],
        days=[
            (_hour(starts[d * 24 + 23]), sum(_received(c) for c in counts[d * 24 : d * 24 + 24]))
            for d in reversed(range(7))
        ],
        outcomes={"24h": _by_source(counts[:24]), "7d": _by_source(counts)},
        latency={"24h": _percentiles(latencies[:24]), "7d": _percentiles(latencies)},
        speed={"24h": _percentiles(speeds[:24]), "7d": _percentiles(speeds)},
        callbell_requests=counts[0].get("callbell|requests", 0),
        budget_share=counts[0].get("callbell|requests", 0)
        / (rt.settings.callbell_max_rps * max(now - _hour(now), 60)),
        queue_depth=depth,
        oldest_queued_seconds=queued_age(rt.redis, oldest, now),
        retries_scheduled=scheduled,
        workers=Worker.count(queue=rt.queue),
        dead_letters=dead,
    )
    view.warnings = _warnings(rt, view, counts, now)
    return view


def _decode(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}


def _hour(at: float) -> float:
    return (at // index.HOUR) * index.HOUR


def _received(counts: dict[str, int]) -> int:
    return sum(
        n
        for k, n in counts.items()
        if k.rpartition("|")[2] in RECEIVED and not k.startswith(("callbell|", "welcome|"))
    )


def _by_source(hours: list[dict[str, int]]) -> dict[str, dict[str, int]]:
    """Outcome counts per source over the given hours."""
    found: dict[str, dict[str, int]] = {}
    for counts in hours:
        for key, n in counts.items():
            source, _, outcome = key.rpartition("|")
            if source not in ("callbell", "welcome") and outcome in OUTCOMES:
                found.setdefault(source, dict.fromkeys(OUTCOMES, 0))[outcome] += n
    return dict(sorted(found.items()))


def _percentiles(hours: list[dict[bytes, bytes]]) -> tuple[str, str]:
    """p50 and p95 of receipt-to-delivery latency, as the upper bound of the bucket they fall in."""
    totals: dict[str, int] = {}
    for raw in hours:
        for bucket, n in raw.items():
            totals[bucket.decode()] = totals.get(bucket.decode(), 0) + int(n)
    ordered = sorted(totals.items(), key=lambda kv: float(kv[0]))
    count = sum(totals.values())
    if not count:
        return ("-", "-")

    def at(share: float) -> str:
        running = 0
        for bucket, n in ordered:
            running += n
            if running >= share * count:
                return f"≤ {_duration(float(bucket))}" if bucket != "inf" else "> 1 day"
        return "-"

    return (at(0.5), at(0.95))


def _duration(seconds: float) -> str:
    """A short human duration: 250 ms, 5 s, 2 min, 6 h."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def _warnings(rt: Runtime, view: Overview, counts: list[dict[str, int]], now: float) -> list[str]:
    """The problems a person must act on, in plain words."""
    found = []
    if view.dead_letters:
        found.append(
            f"{view.dead_letters} dead letter(s) wait for a person: see Leads, status dead or rejected."
        )
    day = counts[:24]
    refused = sum(c.get(f"callbell|status_{s}", 0) for c in day for s in (401, 403))
    if refused:
        found.append(
            f"Callbell refused the API key {refused} time(s) in 24 h (401/403): check CALLBELL_API_TOKEN."
        )
    throttled = sum(c.get("callbell|status_429", 0) for c in counts[:1])
    if throttled:
        found.append(f"Callbell answered 429 {throttled} time(s) in the last hour: lower CALLBELL_MAX_RPS.")
    for source in rt.sources:
        recent = rt.redis.zrevrange(index.source_index(source), 0, 20, withscores=True)
        if len(recent) < 5:
            continue
        times = [at for _, at in recent]
        usual = statistics.median(a - b for a, b in itertools.pairwise(times))
        silent = now - times[0]
        if silent > max(4 * usual, 3600):
            found.append(
                f"Source {source} is silent: no lead for {_duration(silent)} (usual gap {_duration(usual)})."
            )
    unsure = sum(c.get("welcome|unknown", 0) for c in day)
    if unsure:
        found.append(
            f"{unsure} welcome message(s) in 24 h may or may not have been sent (Callbell gave no answer):"
            " see Leads, welcome unknown, and check those conversations in Callbell"
            " (leadrelay does not send them again)."
        )
    failed = sum(c.get("welcome|failed", 0) + c.get("welcome|failed_after_send", 0) for c in day)
    if failed:
        found.append(f"{failed} welcome message(s) failed in 24 h: see Leads, welcome failed.")
    if view.oldest_queued_seconds > 600:
        found.append(
            f"The oldest queued lead has waited {_duration(view.oldest_queued_seconds)}: add workers."
        )
    return found


@dataclass
class Page:
    """One page of leads, newest first, and the cursor of the next page (None: no more)."""

    leads: list[dict[str, Any]]
    next_cursor: str | None


def leads(
    rt: Runtime,
    source: str = "",
    status: str = "",
    since: float | None = None,
    cursor: str = "",
    welcome: str = "",
) -> Page:
    """A page of leads from the most selective index, filtered by the others."""
    if welcome:
        key = index.welcome_index(welcome)
    elif status:
        key = index.status_index(status)
    else:
        key = index.source_index(source) if source else index.LEADS_INDEX
    top = f"({cursor}" if cursor else "+inf"
    found: list[dict[str, Any]] = []
    while len(found) < PAGE_SIZE:
        batch = rt.redis.zrevrangebyscore(
            key, top, since or "-inf", start=0, num=PAGE_SIZE * 2, withscores=True
        )
        if not batch:
            return Page(found, None)
        records = _records(rt, [i.decode() for i, _ in batch])
        for (_, score), record in zip(batch, records, strict=True):
            if (
                record
                and (not source or record["source"] == source)
                and (not welcome or not status or record["status"] == status)
            ):
                found.append(record)
            top = f"({score!r}"
        if len(batch) < PAGE_SIZE * 2:
            return Page(found, None)
    return Page(found, top[1:])


def search(rt: Runtime, query: str, region: str) -> list[dict[str, Any]]:
    """Leads by exact id, by email, or by phone written any way (normalised as intake does)."""
    query = query.strip()
    if LEAD_ID.match(query):
        record = rt.store.get(query)
        return [record] if record else []
    if "@" in query:
        key = rt.store.finder.search_key("email", query)
    else:
        try:
            number = parse_phone(query, region)
        except ValueError:
            return []
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        key = rt.store.finder.search_key("phone", e164)
    found = [r for r in _records(rt, sorted(i.decode() for i in rt.redis.smembers(key))) if r]
    return sorted(found, key=lambda r: r["received_at"], reverse=True)


def _records(rt: Runtime, ids: list[str]) -> list[dict[str, Any] | None]:
    """The decoded records of `ids` in one round trip (None where a record has expired)."""
    with rt.redis.pipeline(transaction=False) as pipe:
        for lead_id in ids:
            pipe.hgetall(lead_key(lead_id))
        return [decode_record(raw) if raw else None for raw in pipe.execute()]


SAMPLE_PRESETS = ("form", "json")  # sources the console can send a sample lead to


def sources(rt: Runtime, now: float | None = None) -> list[dict[str, Any]]:
    """Each configured source with its last lead and its 24-hour counts."""
    now = now or time.time()
    names = sorted(rt.sources)
    with rt.redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zrevrange(index.source_index(name), 0, 0, withscores=True)
        for hour in range(24):
            pipe.hgetall(index.stats_key(now - hour * index.HOUR))
        replies = pipe.execute()
    day = _by_source([_decode(h) for h in replies[len(names) :]])
    rows = []
    for name, last in zip(names, replies[: len(names)], strict=True):
        source = rt.sources[name]
        rows.append(
            {
                "source": source,
                "secret": "not needed" if not source.secret_env else ("set" if source.secrets else "NOT SET"),
                "last_lead": last[0][1] if last else None,
                "counts": day.get(name, dict.fromkeys(OUTCOMES, 0)),
                "can_sample": source.preset in SAMPLE_PRESETS and source.auth in ("none", "api_key"),
            }
        )
    return rows
