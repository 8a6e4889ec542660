"""The intake endpoint: verify, decode, validate, record, enqueue, answer. No outbound HTTP here."""

from __future__ import annotations

import json
import time
import uuid

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import ValidationError
from phonenumbers import PhoneNumberFormat, format_number
from redis.client import Pipeline
from redis.exceptions import RedisError

from service import bodies, lead_index, metrics
from service.browser import caught_by_honeypot, see_other, wants_redirect
from service.contact import parse_phone
from service.dedup import dedup_key
from service.errors import PayloadError, VerificationError
from service.keys import Status
from service.mapping import contact_from
from service.presets import read
from service.presets.answers import Answers
from service.problems import problem
from service.records import NewLead
from service.runtime import runtime
from service.sources import Source
from service.verify import Inbound, matches_any, stored_body, verify
from service.views.admin import show_lead

bp = Blueprint("intake", __name__)


@bp.post("/v1/leads/<source_name>")
def intake(source_name: str) -> Response:
    """Accept one lead (or, from Meta, a notification of several) from a configured source."""
    rt = runtime()
    source = rt.sources.get(source_name)
    if source is None:
        return problem(
            404, f"unknown source {source_name!r}; configured sources are named in the sources file"
        )
    g.source = source.name
    content_type = request.content_type or ""
    if not bodies.is_supported(content_type):
        g.outcome = "unsupported"
        return problem(
            415,
            f"content type {bodies.media_type(content_type) or '(none)'!r} is not supported; "
            f"send one of {', '.join(bodies.SUPPORTED_TYPES)}",
        )
    raw = request.get_data(cache=False)
    url = (
        rt.settings.public_url.rstrip("/") + request.full_path.rstrip("?")
        if rt.settings.public_url
        else request.url
    )
    try:
        verify(source.auth, Inbound(request.method, url, request.headers, request.args, raw), source.secrets)
    except VerificationError as exc:
        g.outcome = "unauthorized"
        return problem(401, str(exc))
    try:
        payload = bodies.decode(content_type, raw)
    except bodies.UnsupportedType as exc:
        g.outcome = "unsupported"
        return problem(415, str(exc))
    except PayloadError as exc:
        g.outcome = "bad_body"
        return problem(400, str(exc))
    raw = stored_body(source.auth, raw)
    if caught_by_honeypot(source, payload):
        rt.redis.incr(f"leadrelay:honeypot:{source.name}")
        g.outcome = "honeypot"
        return _answer(source, uuid.uuid4().hex, Status.QUEUED)  # looks accepted, so the bot learns nothing
    if source.reader.fetches_lead:
        return _announced_leads(source, payload)
    lead = NewLead(source.name, content_type, raw, delivery_mode=source.delivery_mode)
    answers = None
    try:
        answers = read(source.preset, payload)
        contact = contact_from(source, answers)
    except PayloadError as exc:
        g.outcome = "bad_body"
        return problem(400, str(exc))
    except ValidationError as exc:
        lead_id = rt.store.reject(lead, exc.messages, finds=_rejected_finds(source, answers))
        g.outcome, g.lead_id = Status.REJECTED, lead_id
        if wants_redirect(source, request) and source.error_redirect_url:
            return see_other(source.error_redirect_url, reason=_first_reason(exc.messages), lead_id=lead_id)
        return problem(
            422,
            "the lead is not valid; it was kept as a dead letter and can be replayed "
            "once the form or the mapping is fixed",
            errors=exc.messages,
            lead_id=lead_id,
        )
    skip = answers.is_test and source.test_leads == "skip"
    lead = NewLead(
        source.name,
        content_type,
        raw,
        contact,
        source.delivery_mode,
        enqueue=not skip,
        status=Status.SKIPPED if skip else Status.QUEUED,
        reason="sender test lead, not delivered" if skip else "",
    )
    lead_id, duplicate_of = rt.store.accept(
        lead,
        dedup_key(source.name, request.headers, answers.event_id, contact),
        _counters(lead.status),
        _timed,
        finds=rt.store.finder.keys_for(contact["identifier"], _text(answers.known.get("email"))),
    )
    g.outcome, g.lead_id = ("duplicate" if duplicate_of else lead.status), lead_id
    return _answer(source, lead_id, duplicate_of or lead.status, duplicate=duplicate_of is not None)


def _announced_leads(source: Source, payload: dict) -> Response:
    """Store one lead per lead a notification announces (Meta); the worker fetches each."""
    rt = runtime()
    announced = source.reader.announced(payload) if source.reader.announced else []
    if not announced:
        g.outcome = Status.REJECTED
        return problem(
            422, "no leadgen change in this notification", errors={"entry": ["no leadgen_id found"]}
        )
    results = []
    for change in announced:
        lead = NewLead(
            source.name, "application/json", json.dumps(change).encode(), None, source.delivery_mode
        )
        lead_id, duplicate_of = rt.store.accept(lead, dedup_key(source.name, {}, change["leadgen_id"], None))
        results.append(
            {
                "lead_id": lead_id,
                "leadgen_id": change["leadgen_id"],
                "status": duplicate_of or Status.QUEUED,
                "duplicate": duplicate_of is not None,
            }
        )
    g.outcome = Status.QUEUED if any(not r["duplicate"] for r in results) else "duplicate"
    g.lead_id = ",".join(r["lead_id"] for r in results)
    return jsonify(leads=results)  # Meta wants a 200


def _counters(outcome: str) -> tuple[str, str]:
    """The metrics fields the store counts a lead under: stored with `outcome`, or a duplicate."""
    g.counted = True  # counted inside the transaction that stores it: one round trip fewer per lead
    return (
        metrics.field(metrics.LEADS_RECEIVED, source=g.source, outcome=outcome),
        metrics.field(metrics.LEADS_RECEIVED, source=g.source, outcome="duplicate"),
    )


def _timed(pipe: Pipeline) -> None:
    """Observe the intake latency inside the storing transaction."""
    metrics.observe(pipe, metrics.INTAKE_SECONDS, time.perf_counter() - g.started)


@bp.after_request
def _record(response: Response) -> Response:
    """Count every other intake answer by source and outcome and time it; metrics never fail a request."""
    if request.method != "POST" or "source" not in g or g.get("counted"):
        return response
    outcome = g.get("outcome") or (
        "unavailable" if response.status_code == 503 else f"http_{response.status_code}"
    )
    g.outcome = outcome
    try:
        with runtime().redis.pipeline(transaction=False) as pipe:
            if outcome == "honeypot":
                lead_index.count(pipe, g.source, outcome)  # the console counts caught bots too
            metrics.count(pipe, metrics.LEADS_RECEIVED, source=g.source, outcome=outcome)
            metrics.observe(pipe, metrics.INTAKE_SECONDS, time.perf_counter() - g.started)
            pipe.execute()
    except RedisError:
        pass  # Redis is down: the 503 already says so
    return response


def _answer(source: Source, lead_id: str, status: str, duplicate: bool = False) -> Response:
    """202 for a new lead, 200 for a duplicate, or 303 to the source's page for browser forms."""
    if wants_redirect(source, request):
        return see_other(source.redirect_url or "", lead_id=lead_id)
    body = {"lead_id": lead_id, "status": status}
    if duplicate:
        body["duplicate"] = True
    response = jsonify(body)
    response.status_code = 200 if duplicate else 202
    return response


def _text(value: object) -> str | None:
    """An answer as text, or None when it is not a single value."""
    return value.strip() if isinstance(value, str) else None


def _first_reason(messages: dict) -> str:
    """The first `field: reason` of a validation failure, for an error page's query string."""
    field, reasons = next(iter(messages.items()))
    return f"{field}: {reasons[0] if isinstance(reasons, list) else reasons}"


@bp.get("/v1/leads/<name>")
def get_lead_or_subscription(name: str) -> Response:
    """One URL, two readers: Meta's subscription check (`hub.mode` present) or an operator's lead view."""
    if "hub.mode" in request.args:
        return subscription_check(name)
    return show_lead(name)


def subscription_check(source_name: str) -> Response:
    """Answer Meta's webhook subscription check by echoing `hub.challenge` for the right verify token."""
    source = runtime().sources.get(source_name)
    if source is None:
        return problem(404, f"unknown source {source_name!r}")
    if not source.reader.fetches_lead or not source.verify_token:
        return problem(405, "leads are posted here; GET only answers Meta's subscription check")
    if request.args.get("hub.mode") != "subscribe":
        return problem(400, "expected hub.mode=subscribe with hub.verify_token and hub.challenge")
    if not matches_any(request.args.get("hub.verify_token", ""), (source.verify_token,)):
        return problem(403, "hub.verify_token does not match")
    return Response(request.args.get("hub.challenge", ""), mimetype="text/plain")


def _rejected_finds(source: Source, answers: Answers | None) -> list[str]:
    """The search keys of a rejected lead: its email, and its phone where that one was valid."""
    if answers is None:
        return []
    phone, email = _text(answers.known.get("phone")), _text(answers.known.get("email"))
    try:
        e164 = (
            format_number(parse_phone(phone, source.default_region), PhoneNumberFormat.E164)
            if phone
            else None
        )
    except ValueError:
        e164 = None  # the reason it was rejected, most likely; the email still finds it
    return runtime().store.finder.keys_for(e164, email)
