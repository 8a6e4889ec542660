"""The RQ job: deliver one lead by id, record the outcome, and let the policy decide about retries."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from rq import Retry
from rq.job import Job

from service.records import LeadStore
from service.runtime import connect_redis
from service.settings import Settings
from workers.callbell import CallbellClient, CallbellError
from workers.delivery import deliver_contact
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
    """What a worker process builds once and reuses for every job: store, client, policy."""

    store: LeadStore
    client: CallbellClient
    policy: RetryPolicy


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
    return WorkerContext(store, client, RetryPolicy.parse(settings.retry_schedule))


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
        contact_uuid = deliver_contact(ctx.client, record["contact"], mode, fresh)
    except CallbellError as err:
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
