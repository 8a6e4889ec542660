"""Agent routing: which Callbell user a new lead goes to, fair across every worker process."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from redis import Redis

from service.keys import KEY_PREFIX
from service.sources import Source
from workers.callbell import CallbellClient, UpstreamError

# A team's available members are asked for at most this often (the answer is shared in Redis).
MEMBERS_CACHE_SECONDS = 30


def turn_key(source: str) -> str:
    """The counter that takes turns over a source's agents (one for every process)."""
    return f"{KEY_PREFIX}:assign:turn:{source}"


def pick_agent(redis: Redis, client: CallbellClient, source: Source, log: list[dict[str, Any]]) -> str | None:
    """The next agent for `source`: its user, the next of its users, or the next available team member.

    None when the source assigns nobody or its team has nobody available right now (the lead is
    then delivered unassigned rather than held back).
    """
    assign = source.assign
    if assign is None:
        return None
    agents = list(assign.users) or _members(redis, client, assign.team_uuid, assign.available_only, log)
    if not agents:
        return None
    turn = redis.incr(turn_key(source.name))
    return agents[(turn - 1) % len(agents)]


def _members(
    redis: Redis, client: CallbellClient, team: str, available_only: bool, log: list[dict[str, Any]]
) -> list[str]:
    """The team's members' emails (available ones only, when asked), cached briefly in Redis."""
    status = "available" if available_only else ""
    key = f"{KEY_PREFIX}:assign:team:{team}:{status or 'all'}"
    cached = redis.get(key)
    if cached is not None:
        return json.loads(cached)
    path = f"/teams/{quote(team, safe='')}/members" + (f"?status={status}" if status else "")
    try:
        response = client.call("team_members", "GET", path, log)  # counted in the shared budget
    except UpstreamError:
        return []  # no agent this time; the delivery itself must not fail for it
    body = response.json() if response is not None else {}
    members = body.get("members", body) if isinstance(body, dict) else body
    emails = sorted(m["email"] for m in members or [] if isinstance(m, dict) and m.get("email"))
    redis.set(key, json.dumps(emails), ex=MEMBERS_CACHE_SECONDS)
    return emails
