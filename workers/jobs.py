"""The RQ job: deliver one lead by id, record the outcome, and let the policy decide about retries."""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from marshmallow import ValidationError
from rq import Retry
from rq.job import Job

from service.mapping import contact_from
from service.presets.ads import read_meta_lead
from service.records import LeadStore
from service.runtime import connect_redis
from service.settings import Settings
from service.sources import Source, load_sources
from workers.callbell import CallbellClient, UpstreamError
from workers.delivery import deliver_contact
from workers.meta import fetch_lead
from workers.policy import RetryPolicy
from workers.queueing import make_queue
from workers.ratelimit import CallbellRateLimit

log = logging.getLogger("leadrelay.delivery")
# Returned to RQ with our own delay: the policy counts attempts itself, so RQ's cap only has to be
# larger than any schedule.
RQ_RETRY_CAP = 10_000
PENDING = ("queued", "retrying")


@dataclass
class WorkerContext:
    """What a worker process builds once and reuses for every job: store, client, policy, sources."""

    settings: Settings
    store: LeadStore
    client: CallbellClient
    policy: RetryPolicy
    sources: dict[str, Source]
    session: requests.Session  # for the Graph API (Callbell has its own in the client)


@functools.cache
def context() -> WorkerContext:
    """Build the worker context from the environment, once per process."""
    from importlib.metadata import version

    settings = Settings.load()
    redis = connect_redis(settings.redis_url)
    store = LeadStore(redis, make_queue(redis, settings.queue_name), settings)
    limiter = CallbellRateLimit(settings.redis_url, settings.callbell_max_rps)
    client = CallbellClient(
        settings.callbell_api_url,
        settings.callbell_api_token,
        limiter,
        user_agent=f"leadrelay/{version('leadrelay')}",
        read_timeout=settings.callbell_read_timeout,
    )
    sources = load_sources(settings.sources_path)
    return WorkerContext(
        settings, store, client, RetryPolicy.parse(settings.retry_schedule), sources, requests.Session()
    )


def deliver(lead_id: str) -> Retry | str:
    """Deliver one lead to Callbell; return rq.Retry when the policy wants another attempt."""
    ctx = context()
    record = ctx.store.get(lead_id)
    if record is None or record["status"] not in PENDING:
        # Purged, expired, or already finished by an earlier run of a job that was thought lost.
        return "nothing to do"
    attempt = record.get("attempt_count", 0) + 1
    exchanges: list[dict[str, Any]] = record["attempts"]
    fresh: list[dict[str, Any]] = []
    mode = record.get("delivery_mode") or "upsert"
    try:
        contact = record.get("contact") or _fetched_contact(ctx, record, fresh)
        if contact is None:
            _number(fresh, attempt)
            ctx.store.finish_attempt(lead_id, "rejected", attempt, exchanges + fresh)
            return "rejected"
        contact_uuid = deliver_contact(ctx.client, contact, mode, fresh)
    except UpstreamError as err:
        _number(fresh, attempt)
        decision = ctx.policy.decide(err.status, attempt, err.retry_after, error=str(err))
        if decision.retry:
            next_at = time.time() + decision.delay
            ctx.store.finish_attempt(
                lead_id, "retrying", attempt, exchanges + fresh, next_attempt_at=next_at, reason=str(err)
            )
            log.info("lead %s attempt %d failed (%s); retry in %ds", lead_id, attempt, err, decision.delay)
            return Retry(max=RQ_RETRY_CAP, interval=[decision.delay])
        ctx.store.finish_attempt(lead_id, "dead", attempt, exchanges + fresh, reason=decision.reason)
        log.warning("lead %s is a dead letter: %s", lead_id, decision.reason)
        return "dead"
    _number(fresh, attempt)
    ctx.store.finish_attempt(
        lead_id,
        "delivered",
        attempt,
        exchanges + fresh,
        contact_uuid=contact_uuid,
        delivered_at=time.time(),
        reason="",
    )
    log.info("lead %s delivered as contact %s", lead_id, contact_uuid)
    return "delivered"


def _fetched_contact(ctx: WorkerContext, record: dict[str, Any], log: list[dict[str, Any]]) -> dict | None:
    """Fetch a Meta lead, keep it on the record, and build its contact request (None: it is invalid)."""
    source = ctx.sources.get(record["source"])
    if source is None or source.preset != "meta_lead_ads":
        raise UpstreamError(
            "graph_fetch", 400, f"source {record['source']!r} is not a meta_lead_ads source now"
        )
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
        contact = contact_from(source, read_meta_lead(lead))
    except ValidationError as exc:
        ctx.store.update_rejected(record["id"], exc.messages)
        return None
    ctx.store.save_contact(record["id"], contact)
    return contact


def _number(exchanges: list[dict[str, Any]], attempt: int) -> None:
    """Tag each exchange with the attempt it belongs to."""
    for entry in exchanges:
        entry["attempt"] = attempt


def on_job_failure(job: Job, connection: Any, exc_type: type, exc_value: BaseException, tb: Any) -> None:
    """When a job broke (worker died, bug, timeout) and RQ has no retries left, dead-letter the lead."""
    if job.retries_left:
        return  # RQ runs the job again
    lead_id = job.args[0]
    record = context().store.get(lead_id)
    if record is None or record["status"] not in PENDING:
        return
    reason = f"delivery job failed: {exc_type.__name__ if exc_type else 'unknown error'}"
    context().store.finish_attempt(
        lead_id, "dead", record.get("attempt_count", 0), record["attempts"], reason=reason
    )
    log.error("lead %s is a dead letter: %s", lead_id, reason)
