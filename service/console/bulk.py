"""Dead letters grouped by cause, and bulk replays that run in a worker with visible progress."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from service.keys import DEAD_INDEX, KEY_PREFIX, lead_key
from service.runtime import Runtime

# The worker's side of a bulk replay, named by its dotted path (the service never imports workers).
REPLAY_BATCH = "workers.jobs.replay_batch"
BATCH_TTL = 7 * 86400
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass
class Group:
    """Dead letters with one cause."""

    key: str
    label: str
    status: str
    ids: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    newest: float = 0.0


def cause(status: str, reason: str, errors: str | None) -> str:
    """A dead letter's cause in words that leads with the same cause share (values left out)."""
    if status == "rejected" and errors:
        try:
            messages = json.loads(errors)
        except ValueError:
            messages = {}
        name, reasons = next(iter(messages.items()), ("payload", ["not valid"]))
        first = reasons[0] if isinstance(reasons, list) and reasons else reasons
        return "invalid " + QUOTED.sub(
            "…", f"{name}: {first if isinstance(first, str) else json.dumps(first)}"
        )
    return QUOTED.sub("…", reason or "unknown")


def groups(rt: Runtime) -> list[Group]:
    """Every dead letter, grouped by cause, biggest group first (one round trip for the records)."""
    ids = [i.decode() for i in rt.redis.zrevrange(DEAD_INDEX, 0, -1)]
    with rt.redis.pipeline(transaction=False) as pipe:
        for lead_id in ids:
            pipe.hmget(lead_key(lead_id), "status", "reason", "errors", "source", "dead_at")
        rows = pipe.execute()
    found: dict[str, Group] = {}
    for lead_id, (status, reason, errors, source, dead_at) in zip(ids, rows, strict=True):
        if status is None:
            continue  # expired; the index entry goes at the next listing
        label = cause(status.decode(), (reason or b"").decode(), (errors or b"").decode())
        key = hashlib.sha1(f"{status.decode()}|{label}".encode()).hexdigest()[:12]  # noqa: S324 (a name, not a secret)
        group = found.setdefault(key, Group(key, label, status.decode()))
        group.ids.append(lead_id)
        group.sources.add((source or b"").decode())
        group.newest = max(group.newest, float(dead_at or 0))
    return sorted(found.values(), key=lambda g: (-len(g.ids), g.label))


def start_replay(rt: Runtime, label: str, ids: list[str]) -> str:
    """Record a bulk replay of `ids` and give it to a worker; return its id."""
    batch_id = uuid.uuid4().hex
    key = batch_key(batch_id)
    with rt.redis.pipeline(transaction=True) as pipe:
        pipe.multi()  # RQ's enqueue expects an explicit transaction
        pipe.hset(key, mapping={"label": label, "total": len(ids), "done": 0, "replayed": 0, "failed": 0})
        if ids:
            pipe.rpush(f"{key}:ids", *ids)
        pipe.expire(key, BATCH_TTL)
        pipe.expire(f"{key}:ids", BATCH_TTL)
        rt.queue.enqueue_call(REPLAY_BATCH, args=(batch_id,), timeout=3600, result_ttl=60, pipeline=pipe)
        pipe.execute()
    return batch_id


def batch_key(batch_id: str) -> str:
    """The hash holding a bulk replay's progress."""
    return f"{KEY_PREFIX}:batch:{batch_id}"


def progress(rt: Runtime, batch_id: str) -> dict[str, Any] | None:
    """A bulk replay's progress: label, total, done, replayed, failed (None when unknown)."""
    raw = rt.redis.hgetall(batch_key(batch_id))
    if not raw:
        return None
    found: dict[str, Any] = {k.decode(): v.decode() for k, v in raw.items()}
    for name in ("total", "done", "replayed", "failed"):
        found[name] = int(found[name])
    return found
