"""The welcome message: a WhatsApp template to a new lead, sent at most once.

A message is not idempotent (Callbell has no idempotency key), so the job writes its intent
(`welcome = sending`) before the request, fenced by a lease of its own, and the outcome after it:

- `accepted`: Callbell answered 2xx with the message's uuid;
- retried (`due` again): Callbell's answer says nothing was sent: no connection was made, 429;
- `failed`: Callbell refused it (another 4xx): nothing was sent, and the person may get another;
- `unknown`: the request may have been sent and no answer says what happened (a timeout after the
  request went out, a 5xx, a worker killed mid-request). It is never sent again by itself; it is
  counted, logged and shown on the lead for a person to check in Callbell.

A person (by phone) gets at most one welcome per cool-down, whatever the source: a claim in Redis
taken before the intent is written and kept unless the welcome certainly was not sent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from typing import Any

from rq import Retry

from service import bodies, lead_index, metrics
from service.followups import consented, render_values
from service.keys import KEY_PREFIX, WELCOME_ATTENTION, WELCOME_PENDING, Welcome, lead_key, welcome_lease_key
from service.lease import LeaseLost
from service.presets import read
from service.queueing import enqueue_welcome
from service.records import MAX_EXCHANGES
from service.sources import Source
from workers.callbell import UpstreamError, with_answer
from workers.context import context

log = logging.getLogger("leadrelay.welcome")
RETRY_DELAYS = (2, 10, 30, 120, 600)  # the welcome is about speed: past ~15 minutes it is stale


def send_welcome(lead_id: str) -> Retry | str:
    """Send a delivered lead's welcome template unless it is not due; record what happened."""
    ctx = context()
    redis, token = ctx.store.redis, uuid.uuid4().hex
    if not redis.set(welcome_lease_key(lead_id), token, nx=True, ex=ctx.settings.job_timeout + 5):
        return Retry(max=100, interval=[5])  # another job is sending it right now
    try:
        record = ctx.store.get(lead_id)
        state = (record or {}).get("welcome")
        if state == Welcome.SENDING:  # its sender died between the intent and the outcome
            return _finish(
                ctx, record, token, Welcome.UNKNOWN, "the worker stopped while sending; not sent again"
            )
        if state != Welcome.DUE:
            _release(ctx, lead_id, token)
            return "nothing to do"
        return _send(ctx, record, token)  # every outcome's write gives the lease back
    except LeaseLost:
        return "lease lost"
    except BaseException:
        _release(ctx, lead_id, token)
        raise


def _release(ctx: Any, lead_id: str, token: str) -> None:
    """Give the welcome lease back if `token` still holds it."""
    with contextlib.suppress(LeaseLost):
        _under_lease(ctx, lead_id, token)


def welcome_now(ctx: Any, lead_id: str) -> None:
    """Send a just-delivered lead's welcome in the delivering job; a retry becomes a scheduled job.

    Whatever goes wrong here, the delivery is already recorded: the welcome stays due (or sending)
    and the sweep, or the scheduled retry, finishes it.
    """
    try:
        result = send_welcome(lead_id)
    except Exception:  # the contact is delivered; the welcome's own recovery takes over
        log.exception("welcome not sent by the delivery job", extra={"lead_id": lead_id})
        return
    if isinstance(result, Retry):
        enqueue_welcome(
            ctx.runtime.queue, lead_id, job_timeout=ctx.settings.job_timeout, delay=result.intervals[0]
        )


def _send(ctx: Any, record: dict[str, Any], token: str) -> Retry | str:
    """Check that the lead may be welcomed, write the intent, send, write the outcome."""
    source: Source | None = ctx.runtime.sources.get(record["source"])
    welcome = source.welcome if source else None
    if welcome is None:
        return _finish(ctx, record, token, Welcome.SKIPPED, "the source sends no welcome now")
    answers = _answers(source, record)
    if welcome.consent_field and not consented(answers.get(welcome.consent_field)):
        return _finish(ctx, record, token, Welcome.SKIPPED, f"no consent in {welcome.consent_field!r}")
    if welcome.only_new and not record.get("contact_created"):
        return _finish(ctx, record, token, Welcome.SKIPPED, "a returning contact")
    values, missing = render_values(welcome.values, answers)
    if missing:
        return _finish(
            ctx, record, token, Welcome.FAILED, f"no value for the template's {', '.join(missing)}"
        )
    phone = record["contact"]["identifier"]
    claim = f"{KEY_PREFIX}:welcomed:{ctx.store.finder.search_key('phone', phone).rsplit(':', 1)[-1]}"
    redis = ctx.store.redis
    if not redis.set(claim, record["id"], nx=True, ex=welcome.cooldown_seconds):
        holder = (redis.get(claim) or b"").decode()
        if holder != record["id"]:
            return _finish(
                ctx, record, token, Welcome.SKIPPED, f"welcomed within the cool-down (lead {holder})"
            )
    intent = {"welcome": Welcome.SENDING, "welcome_sent_at": time.time()}  # written before the request
    key = lead_key(record["id"])
    _under_lease(ctx, record["id"], token, lambda pipe: pipe.hset(key, mapping=intent), release=False)
    body = {
        "from": source.callbell_source,
        "to": phone,
        "type": "text",
        "content": {"text": "welcome"},
        "channel_uuid": welcome.channel_uuid,
        "template_uuid": welcome.template_uuid,
        "optin_contact": True,
        "template_values": values,
        "metadata": {"lead_id": record["id"], "source": record["source"]},
    }
    if record.get("assigned_user"):
        body["assigned_user"] = record["assigned_user"]
    exchanges: list[dict[str, Any]] = []
    try:
        response = ctx.client.call("welcome", "POST", "/messages/send", exchanges, body=body)
    except UpstreamError as err:
        attempts = int(record.get("welcome_attempts") or 0) + 1
        if err.status == 429 or err.sent is False:
            if attempts <= len(RETRY_DELAYS):
                delay = RETRY_DELAYS[attempts - 1]
                reason = f"not sent: {err}"
                _finish(
                    ctx,
                    record,
                    token,
                    Welcome.DUE,
                    reason,
                    exchanges,
                    retry_in=delay,
                    welcome_attempts=attempts,
                )
                return Retry(max=100, interval=[delay])
            redis.delete(claim)
            return _finish(
                ctx, record, token, Welcome.FAILED, f"not sent after {attempts} tries: {err}", exchanges
            )
        if err.status is not None and 400 <= err.status < 500:
            redis.delete(claim)  # refused, so nothing was sent
            return _finish(
                ctx, record, token, Welcome.FAILED, with_answer("Callbell refused it", exchanges), exchanges
            )
        return _finish(ctx, record, token, Welcome.UNKNOWN, f"may have been sent: {err}", exchanges)
    answer = _json(response)
    message = answer.get("message", answer) if isinstance(answer, dict) else {}
    if isinstance(message, list):
        message = message[0] if message else {}
    return _finish(
        ctx, record, token, Welcome.ACCEPTED, "", exchanges, welcome_uuid=str(message.get("uuid", ""))
    )


def _answers(source: Source, record: dict[str, Any]) -> dict[str, Any]:
    """The lead's answers by key, plus its contact's name, first and last name, phone and email."""
    found: dict[str, Any] = {}
    try:
        payload = record.get("fetched") or bodies.decode(record["content_type"], record["body"])
        read_it = source.reader.read_fetched if record.get("fetched") else None
        answers = read_it(payload) if read_it else read(source.preset, payload)
        found.update(answers.values)
        found.update({k: v for k, v in answers.known.items() if v})
    except Exception:  # a payload that reads differently now still gets its contact's name
        log.warning("could not re-read the lead's answers", extra={"lead_id": record["id"]})
    name = str((record.get("contact") or {}).get("name") or found.get("name") or "").strip()
    if name:
        found.setdefault("name", name)
        found.setdefault("first_name", name.split()[0])
        found.setdefault("last_name", name.split()[-1] if len(name.split()) > 1 else "")
    return found


def _under_lease(ctx: Any, lead_id: str, token: str, write: Any = None, release: bool = True) -> None:
    """Run `write`'s commands (and give the welcome lease back) only while `token` holds the lease.

    One round trip (service.lease); LeaseLost, and nothing written, when another job holds it.
    """
    lease = welcome_lease_key(lead_id)

    def commands(pipe: Any) -> None:
        if write:
            write(pipe)
        if release:
            pipe.delete(lease)

    ctx.store.leases.fenced(lease, token, commands)


def _finish(
    ctx: Any,
    record: dict[str, Any],
    token: str,
    state: Welcome,
    reason: str,
    exchanges: list[dict[str, Any]] | None = None,
    retry_in: float = 0,
    **fields: Any,
) -> str:
    """Record the welcome's outcome (and its exchanges, on the lead's timeline) and count it."""
    fields = {"welcome": state, "welcome_reason": reason, "welcome_at": time.time(), **fields}
    if exchanges:  # the record was read under this lease: no other job has added to it since
        fields["attempts"] = json.dumps((record.get("attempts") or [])[-MAX_EXCHANGES:] + exchanges)

    def write(pipe: Any) -> None:
        pipe.hset(lead_key(record["id"]), mapping=fields)
        metrics.count(pipe, metrics.WELCOMES, outcome="retry" if state == Welcome.DUE else state)
        if state == Welcome.DUE:  # the sweep looks again after the retry's time (plus its grace)
            pipe.zadd(WELCOME_PENDING, {record["id"]: time.time() + retry_in})
        else:
            pipe.zrem(WELCOME_PENDING, record["id"])
        if state in WELCOME_ATTENTION:  # the console warns about these and lists them
            lead_index.count(pipe, "welcome", state)
            pipe.zadd(lead_index.welcome_index(state), {record["id"]: time.time()})
        if state == Welcome.ACCEPTED:
            metrics.observe(pipe, metrics.SPEED_TO_LEAD_SECONDS, time.time() - record["received_at"])
            lead_index.observe_latency(pipe, time.time() - record["received_at"], welcome=True)
        if exchanges:
            lead_index.count(pipe, "callbell", "requests", amount=len(exchanges))

    _under_lease(ctx, record["id"], token, write)
    level = logging.WARNING if state in WELCOME_ATTENTION else logging.INFO
    log.log(level, "welcome %s", state, extra={"lead_id": record["id"], "reason": reason})
    return state


def _json(response: Any) -> Any:
    """The JSON body, or None."""
    try:
        return response.json()
    except ValueError:
        return None
