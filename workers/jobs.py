"""The RQ job: deliver one lead by id, record the outcome, and let the policy decide about retries."""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from typing import Any

from marshmallow import ValidationError
from rq import Retry, get_current_job
from rq.job import Job

from service import lead_index, metrics
from service.keys import WELCOME_PENDING, Status, Welcome, lead_key
from service.lease import LeaseLost
from service.logs import mask_phone
from service.mapping import contact_from
from service.records import decode_record
from workers.callbell import UpstreamError, with_answer
from workers.context import WorkerContext, context
from workers.delivery import CREATE_SENT, deliver_contact
from workers.meta import fetch_lead
from workers.ratelimit import Fence
from workers.routing import pick_agent
from workers.welcome import welcome_now

log = logging.getLogger("leadrelay.delivery")
# Returned to RQ with our own delay: the policy counts attempts itself, so RQ's cap only has to be
# larger than any schedule.
RQ_RETRY_CAP = 10_000


def deliver(lead_id: str) -> Retry | str:
    """Deliver one lead to Callbell; return rq.Retry when the policy wants another attempt.

    The job first takes the lead's lease with its record (one atomic step): a lead another job is
    delivering is left to it (this job looks again when that lease ends, counting no attempt), and a
    lead already finished is not touched again.
    """
    ctx = context()
    token = uuid.uuid4().hex
    claim = ctx.store.leases.take(lead_id, lead_key(lead_id), token, _job_timeout(ctx))
    if claim.state == "held":
        log.info("lead is being delivered by another job", extra={"lead_id": lead_id})
        return Retry(max=RQ_RETRY_CAP, interval=[max(1, math.ceil(claim.wait_seconds))])
    if claim.state != "taken":
        # Purged, expired, or already finished by an earlier run of a job that was thought lost.
        return "nothing to do"
    try:
        return _attempt(ctx, lead_id, decode_record(claim.record or {}), token)
    except LeaseLost:
        log.warning("lead's lease was lost mid-delivery; its new holder decides", extra={"lead_id": lead_id})
        return "lease lost"
    # A job that breaks keeps the lease until it expires: a request it sent may still be processed
    # by Callbell, and the next delivery's look-up must see what that request did.


def _job_timeout(ctx: WorkerContext) -> int:
    """The running job's own timeout (set when it was enqueued), else this worker's setting."""
    job = get_current_job()
    return int(job.timeout) if job and job.timeout else ctx.settings.job_timeout


def _attempt(ctx: WorkerContext, lead_id: str, record: dict[str, Any], token: str) -> Retry | str:
    """Make one delivery attempt under the lease and record its outcome (which frees the lease)."""
    attempt = record.get("attempt_count", 0) + 1
    fresh: list[dict[str, Any]] = []
    started = time.perf_counter()
    fields: dict[str, Any] = {}
    retry_delay = 0
    try:
        contact = record.get("contact") or _fetched_contact(ctx, record, fresh)
        if contact is None:
            outcome = Status.REJECTED
        else:
            source = ctx.runtime.sources.get(record["source"])
            done = deliver_contact(
                ctx.client,
                contact,
                record.get("delivery_mode") or "upsert",
                fresh,
                fence=Fence(lead_id, token),
                pick_agent=lambda: pick_agent(ctx.store.redis, ctx.client, source, fresh) if source else None,
                reassign=bool(source and source.assign and source.assign.reassign),
                created_before=bool(record.get(CREATE_SENT)),
            )
            outcome = Status.DELIVERED
            fields.update(delivered_at=time.time(), reason="", contact_uuid=done.uuid)
            fields.update(contact_created="1" if done.created else "", assigned_user=done.assigned_user or "")
            if source and source.welcome and not record.get("welcome"):
                fields["welcome"] = Welcome.DUE  # recorded with the delivery; sent by this job below
    except UpstreamError as err:
        decision = ctx.policy.decide(err.status, attempt, err.retry_after, error=str(err))
        outcome = Status.RETRYING if decision.retry else Status.DEAD
        fields["reason"] = str(err) if decision.retry else with_answer(decision.reason, fresh)
        if decision.retry:
            retry_delay = decision.delay
            fields["next_attempt_at"] = time.time() + retry_delay
    for entry in fresh:
        entry["attempt"] = attempt
    status = fresh[-1]["status"] if fresh else None
    ctx.store.finish_attempt(
        lead_id,
        outcome,
        attempt,
        record["attempts"] + fresh,
        events=lambda pipe: _count(
            pipe, record, outcome, status, fresh, fields.get("welcome") == Welcome.DUE
        ),
        lease_token=token,
        source=record["source"],
        **fields,
    )
    log.info(
        "delivery attempt",
        extra={
            "lead_id": lead_id,
            "attempt": attempt,
            "outcome": outcome,
            "status": status,
            "identifier": mask_phone((record.get("contact") or {}).get("identifier")),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "reason": fields.get("reason", ""),
            "requests": [e["request"] for e in fresh],
        },
    )
    if outcome == Status.RETRYING:
        return Retry(max=RQ_RETRY_CAP, interval=[retry_delay])
    if fields.get("welcome") == Welcome.DUE:
        welcome_now(ctx, lead_id)  # speed to lead: no second job, no queue to wait in
    return outcome


def _count(
    pipe: Any,
    record: dict[str, Any],
    outcome: str,
    status: int | None,
    fresh: list[dict[str, Any]],
    welcome: bool,
) -> None:
    """Queue this attempt's metrics (and a due welcome's job) on the pipeline that records it."""
    if welcome:  # sent by this job right after this write; the sweep sends it if the job dies first
        pipe.zadd(WELCOME_PENDING, {record["id"]: time.time()})
    metrics.count(pipe, metrics.DELIVERY_ATTEMPTS, outcome=outcome, status=str(status or "none"))
    waits = sum(1 for e in fresh if e.get("rate_limit_wait_ms"))
    if waits:
        metrics.count(pipe, metrics.RATE_LIMIT_WAITS, waits)
    lead_index.count(pipe, "callbell", "requests", amount=len(fresh))  # the budget in use, per hour
    if status in (401, 403, 429):  # the console warns about the key and about throttling
        lead_index.count(pipe, "callbell", f"status_{status}")
    if outcome == Status.DELIVERED:
        metrics.observe(pipe, metrics.DELIVERY_SECONDS, time.time() - record["received_at"])
        lead_index.observe_latency(pipe, time.time() - record["received_at"])


def _fetched_contact(ctx: WorkerContext, record: dict[str, Any], log: list[dict[str, Any]]) -> dict | None:
    """Fetch a Meta lead, keep it on the record, and build its contact request (None: it is invalid)."""
    source = ctx.runtime.sources.get(record["source"])
    if source is None or source.reader.read_fetched is None:
        raise UpstreamError("graph_fetch", 400, f"source {record['source']!r} no longer fetches its leads")
    leadgen_id = json.loads(record["body"])["leadgen_id"]
    lead = fetch_lead(
        ctx.session,
        ctx.settings.meta_graph_api_url,
        source.page_token,
        leadgen_id,
        log,
        ctx.settings.callbell_read_timeout,
    )
    ctx.store.save_fetched(record["id"], lead)
    try:
        contact = contact_from(source, source.reader.read_fetched(lead))
    except ValidationError as exc:
        ctx.store.update_rejected(record["id"], exc.messages)
        return None
    ctx.store.save_contact(record["id"], contact)
    return contact


def on_job_failure(job: Job, connection: Any, exc_type: type, exc_value: BaseException, tb: Any) -> None:
    """When a job broke (worker died, bug, timeout) and RQ has no retries left, dead-letter the lead.

    Only under the lead's lease: a lead another job is delivering right now is left to that job.
    """
    if job.retries_left:
        return  # RQ runs the job again
    lead_id = job.args[0]
    store = context().store
    token = uuid.uuid4().hex
    claim = store.leases.take(
        lead_id, lead_key(lead_id), token, job.timeout or context().settings.job_timeout
    )
    if claim.state != "taken":
        return
    record = decode_record(claim.record or {})
    reason = f"delivery job failed: {exc_type.__name__ if exc_type else 'unknown error'}"
    try:
        store.finish_attempt(
            lead_id,
            Status.DEAD,
            record.get("attempt_count", 0),
            record["attempts"],
            lease_token=token,
            reason=reason,
        )
    except LeaseLost:
        return
    log.error("lead %s is a dead letter: %s", lead_id, reason)


def run_batch(batch_id: str) -> str:
    """Replay or delete the dead letters of a batch started from the console, counting as it goes."""
    from service import deadletters
    from service.console.bulk import batch_key

    ctx = context()
    redis, key = ctx.store.redis, batch_key(batch_id)
    action = (redis.hget(key, "action") or b"replay").decode()
    while lead_id := redis.lpop(f"{key}:ids"):
        if action == "delete":
            ok = ctx.store.delete(lead_id.decode())
        else:
            try:
                ok = deadletters.replay(ctx.store, ctx.runtime.sources, lead_id.decode())["replayed"]
            except LookupError:
                ok = False
        with redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, "done", 1)
            pipe.hincrby(key, "ok" if ok else "failed", 1)
            pipe.execute()
    return "done"
