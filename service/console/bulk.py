"""Bulk replays and deletes of dead letters that run in a worker, with visible progress."""

from __future__ import annotations

import uuid
from typing import Any

from service.keys import KEY_PREFIX
from service.runtime import Runtime

# The worker's side of a batch, named by its dotted path (the service never imports workers).
RUN_BATCH = "workers.jobs.run_batch"
BATCH_TTL = 7 * 86400
ACTIONS = ("replay", "delete")


def start(rt: Runtime, action: str, label: str, ids: list[str]) -> str:
    """Record a bulk `action` ("replay" or "delete") over `ids` and give it to a worker; return its id."""
    if action not in ACTIONS:
        raise ValueError(f"action: must be one of {', '.join(ACTIONS)}")
    batch_id = uuid.uuid4().hex
    key = batch_key(batch_id)
    with rt.redis.pipeline(transaction=True) as pipe:
        pipe.multi()  # RQ's enqueue expects an explicit transaction
        progress = {"action": action, "label": label, "total": len(ids), "done": 0, "ok": 0, "failed": 0}
        pipe.hset(key, mapping=progress)
        if ids:
            pipe.rpush(f"{key}:ids", *ids)
        pipe.expire(key, BATCH_TTL)
        pipe.expire(f"{key}:ids", BATCH_TTL)
        rt.queue.enqueue_call(RUN_BATCH, args=(batch_id,), timeout=3600, result_ttl=60, pipeline=pipe)
        pipe.execute()
    return batch_id


def batch_key(batch_id: str) -> str:
    """The hash holding a bulk replay's progress."""
    return f"{KEY_PREFIX}:batch:{batch_id}"


def progress(rt: Runtime, batch_id: str) -> dict[str, Any] | None:
    """A batch's progress: action, label, total, done, ok, failed (None when unknown)."""
    raw = rt.redis.hgetall(batch_key(batch_id))
    if not raw:
        return None
    found: dict[str, Any] = {"action": "replay", **{k.decode(): v.decode() for k, v in raw.items()}}
    for name in ("total", "done", "ok", "failed"):
        found[name] = int(found[name])
    return found
