"""`leadrelay dead-letters`: list, show, replay and purge dead letters from the command line."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from redis.exceptions import RedisError

from service import deadletters
from service.errors import ConfigError
from service.keys import DEAD_STATUSES
from service.lead_view import public_view, summary
from service.runtime import Runtime
from service.settings import Settings, mask_url
from service.sources import OPERATOR


def runtime_or_exit(role: str = OPERATOR) -> Runtime:
    """Load settings and sources and check that Redis answers, or exit naming what is wrong.

    Operator commands need none of the senders' secrets (`role`): only the intake verifies senders.
    """
    try:
        rt = Runtime.start(Settings.load(), role)
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    try:
        rt.redis.ping()
    except RedisError as exc:
        url = mask_url(rt.settings.redis_url)
        click.echo(f"cannot reach Redis at REDIS_URL={url}: {_reason(exc)}", err=True)
        sys.exit(1)
    return rt


def _reason(exc: Exception) -> str:
    """The first line of what went wrong, without a traceback."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _filters(func: Any) -> Any:
    """Add the --source, --status and --since filters shared by the dead-letter commands."""
    func = click.option("--since", help="ISO 8601 time, or a duration ago such as 2h")(func)
    func = click.option("--status", type=click.Choice([str(s) for s in DEAD_STATUSES]))(func)
    return click.option("--source")(func)


def _make_filter(
    source: str | None, status: str | None, since: str | None, older_than: str | None = None
) -> deadletters.Filter:
    """Build a Filter, turning a bad time into a usage error."""
    try:
        return deadletters.Filter.parse(source, status, since, older_than)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@click.group("dead-letters")
def dead_letters() -> None:
    """Inspect, replay and purge leads that failed delivery or validation."""


@dead_letters.command("list")
@_filters
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def list_cmd(source: str | None, status: str | None, since: str | None, as_json: bool) -> None:
    """List dead letters, newest first."""
    rt = runtime_or_exit()
    rows = [summary(r) for r in deadletters.list_dead(rt.store, _make_filter(source, status, since))]
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['id']}  {row['status']:<8} {row['source']:<12} {row['dead_at']}  "
                f"attempts={row['attempts']}  {row['reason']}"
            )
    if not as_json:
        # Naming the Redis read: "0" from another Redis than the running system's must not look final.
        click.echo(f"{len(rows)} dead letter(s) in REDIS_URL={mask_url(rt.settings.redis_url)}", err=True)


@dead_letters.command("show")
@click.argument("lead_id")
def show_cmd(lead_id: str) -> None:
    """Show one lead with its payload and every attempt."""
    record = runtime_or_exit().store.get(lead_id)
    if record is None:
        raise click.ClickException(f"no lead {lead_id!r}")
    click.echo(json.dumps(public_view(record), indent=2))


@dead_letters.command("replay")
@click.argument("lead_id", required=False)
@click.option("--all", "replay_all", is_flag=True, help="replay every dead letter matching the filters")
@_filters
def replay_cmd(
    lead_id: str | None, replay_all: bool, source: str | None, status: str | None, since: str | None
) -> None:
    """Rebuild the contact request with today's sources file and deliver again."""
    rt = runtime_or_exit()
    if bool(lead_id) == replay_all:
        raise click.UsageError("give a lead id or --all")
    ids = (
        [lead_id]
        if lead_id
        else [
            r["id"] for r in deadletters.list_dead(rt.store, _make_filter(source, status, since), limit=10**9)
        ]
    )
    failed = 0
    for one in ids:
        try:
            result = deadletters.replay(rt.store, rt.sources, one)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        failed += not result["replayed"]
        click.echo(json.dumps(result))
    click.echo(f"{len(ids) - failed} replayed, {failed} not replayed", err=True)
    if failed:
        sys.exit(1)


@dead_letters.command("purge")
@click.argument("lead_id", required=False)
@click.option("--all", "purge_all", is_flag=True, help="purge every dead letter matching the filters")
@click.option("--older-than", help="only dead letters older than this (e.g. 30d)")
@_filters
def purge_cmd(
    lead_id: str | None,
    purge_all: bool,
    older_than: str | None,
    source: str | None,
    status: str | None,
    since: str | None,
) -> None:
    """Delete dead letters for good."""
    rt = runtime_or_exit()
    if bool(lead_id) == purge_all:
        raise click.UsageError("give a lead id or --all")
    if lead_id:
        record = rt.store.get(lead_id)
        if record is None or record["status"] not in DEAD_STATUSES:
            raise click.ClickException(f"{lead_id!r} is not a dead letter")
        count = int(rt.store.delete(lead_id))
    else:
        count = deadletters.purge(rt.store, _make_filter(source, status, since, older_than))
    click.echo(f"{count} purged")


@click.command("erase")
@click.option("--phone", help="the person's phone, written any way")
@click.option("--email", help="the person's email")
@click.option("--yes", is_flag=True, help="erase without asking")
def erase_cmd(phone: str | None, email: str | None, yes: bool) -> None:
    """Delete every lead that holds a person's phone or email (an erasure request)."""
    from service import erasure

    if not (phone or email):
        raise click.UsageError("give --phone, --email or both")
    rt = runtime_or_exit()
    try:
        keys = erasure.search_keys(rt.store, phone or "", email or "", rt.default_region())
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    found = erasure.matching(rt.store, keys)
    if not found:
        click.echo("no lead holds that phone or email")
        return
    if not yes:
        click.confirm(f"Delete {len(found)} lead(s) for good?", abort=True)
    click.echo(f"{len(erasure.erase(rt.store, keys, by='command line'))} lead(s) erased")
