"""Dead letters grouped by cause, kept as they die, so the console never reads every dead letter.

A lead that becomes a dead letter is filed, in the transaction that makes it dead, under its
cause: a sorted set of lead ids per cause (id -> when it died) and one hash naming each cause.
Replay and delete take it out again; the workers' maintenance trims what the retention expired.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from redis import Redis
from redis.client import Pipeline

from service.keys import DEAD_INDEX, KEY_PREFIX, lead_key

GROUPS = f"{KEY_PREFIX}:dead:groups"  # hash: group key -> {"label", "status"}
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
SAMPLE = 50  # the newest dead letters per group whose sources the console names

# Forget a cause once no dead letter has it; atomic, so a lead filed meanwhile keeps its label.
DROP_IF_EMPTY = """
if redis.call('ZCARD', KEYS[2]) == 0 then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


@dataclass
class Group:
    """Dead letters with one cause."""

    key: str
    label: str
    status: str
    count: int = 0
    sources: set[str] = field(default_factory=set)
    newest: float = 0.0


def members(key: str) -> str:
    """The sorted set of a group's lead ids, by when each became a dead letter."""
    return f"{KEY_PREFIX}:dead:group:{key}"


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


def file(pipe: Pipeline, lead_id: str, status: str, reason: str, errors: str | None, at: float) -> None:
    """Queue the commands that file a new dead letter under its cause."""
    label = cause(status, reason, errors)
    key = hashlib.sha1(f"{status}|{label}".encode()).hexdigest()[:12]  # noqa: S324 (a name, not a secret)
    pipe.hset(GROUPS, key, json.dumps({"label": label, "status": status}))
    pipe.zadd(members(key), {lead_id: at})
    pipe.hset(lead_key(lead_id), "dead_group", key)


def unfile(pipe: Pipeline, lead_id: str, key: bytes | str | None) -> None:
    """Queue the commands that take a lead out of its group (replayed or deleted)."""
    if key:
        pipe.zrem(members(key.decode() if isinstance(key, bytes) else key), lead_id)


def listing(redis: Redis) -> list[Group]:
    """Every cause with its count, newest death and sources, biggest first (three round trips)."""
    found = []
    for key, raw in redis.hgetall(GROUPS).items():
        about = json.loads(raw)
        found.append(Group(key.decode(), about["label"], about["status"]))
    with redis.pipeline(transaction=False) as pipe:
        for group in found:
            pipe.zcard(members(group.key))
            pipe.zrevrange(members(group.key), 0, SAMPLE - 1, withscores=True)
        answers = pipe.execute()
    samples = []
    for group, count, newest in zip(found, answers[::2], answers[1::2], strict=True):
        group.count = count
        group.newest = newest[0][1] if newest else 0.0
        samples.append([lead_id.decode() for lead_id, _ in newest])
    with redis.pipeline(transaction=False) as pipe:
        for ids in samples:
            for lead_id in ids:
                pipe.hget(lead_key(lead_id), "source")
        names = iter(pipe.execute())
    for group, ids in zip(found, samples, strict=True):
        group.sources = {name.decode() for name in (next(names) for _ in ids) if name}
    return sorted((g for g in found if g.count), key=lambda g: (-g.count, g.label))


def find(redis: Redis, key: str) -> Group | None:
    """One group by its key, with its count (None when there is no such cause)."""
    raw = redis.hget(GROUPS, key)
    if raw is None:
        return None
    about = json.loads(raw)
    return Group(key, about["label"], about["status"], count=redis.zcard(members(key)))


def ids(redis: Redis, key: str) -> list[str]:
    """Every lead id in a group, oldest first."""
    return [lead_id.decode() for lead_id in redis.zrange(members(key), 0, -1)]


def trim(redis: Redis, older_than: float) -> None:
    """Drop entries past the dead-letter retention, and causes no dead letter has any more."""
    keys = [key.decode() for key in redis.hkeys(GROUPS)]
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.zremrangebyscore(members(key), "-inf", older_than)
        pipe.execute()
    drop = redis.register_script(DROP_IF_EMPTY)
    for key in keys:
        drop(keys=[GROUPS, members(key)], args=[key])


def backfill(redis: Redis) -> int:
    """File the dead letters kept before groups existed (once per Redis); return how many."""
    if not redis.set(f"{GROUPS}:filed", 1, nx=True):
        return 0
    filed = 0
    for lead_id, at in redis.zrange(DEAD_INDEX, 0, -1, withscores=True):
        status, reason, errors, group = redis.hmget(
            lead_key(lead_id.decode()), "status", "reason", "errors", "dead_group"
        )
        if status is None or group is not None:
            continue
        with redis.pipeline(transaction=True) as pipe:
            file(
                pipe,
                lead_id.decode(),
                status.decode(),
                (reason or b"").decode(),
                (errors or b"").decode(),
                at,
            )
            pipe.execute()
        filed += 1
    return filed
