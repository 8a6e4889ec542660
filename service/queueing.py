"""How a delivery job is put on the queue; shared by intake, replay and the worker."""

from __future__ import annotations

from datetime import timedelta

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from service.settings import DEFAULT_JOB_TIMEOUT

# The job contract: the workers' functions named by dotted path, so the app never imports them.
DELIVER = "workers.jobs.deliver"
ON_FAILURE = "workers.jobs.on_job_failure"
WELCOME = "workers.welcome.send_welcome"
# Retries of the job itself, used only when a worker dies mid-delivery or the job breaks outright.
# HTTP outcomes are retried by the delivery policy, which returns rq.Retry with its own schedule.
# The first retry is immediate: it needs no scheduler, whose lock a killed worker may still hold.
CRASH_RETRIES = Retry(max=5, interval=[0, 30, 120, 600, 1800])
# Finished jobs need not linger: the lead record holds the outcome.
RESULT_TTL = 60


def make_queue(redis: Redis, name: str) -> Queue:
    """Return the delivery queue; job arguments are JSON so they stay small and inspectable."""
    return Queue(name, connection=redis, serializer=JSONSerializer)


def enqueue_delivery(
    queue: Queue, lead_id: str, pipeline: Pipeline | None = None, job_timeout: int = DEFAULT_JOB_TIMEOUT
) -> Job:
    """Enqueue the delivery of one lead; the job carries the lead id and nothing else."""
    return queue.enqueue_call(
        DELIVER,
        args=(lead_id,),
        timeout=job_timeout,
        result_ttl=RESULT_TTL,
        retry=CRASH_RETRIES,
        on_failure=Callback(ON_FAILURE),
        pipeline=pipeline,
    )


def enqueue_welcome(
    queue: Queue,
    lead_id: str,
    pipeline: Pipeline | None = None,
    job_timeout: int = DEFAULT_JOB_TIMEOUT,
    delay: float = 0,
) -> Job:
    """Enqueue a lead's welcome job: now (one the sweep found lost) or in `delay` s (a retry)."""
    options = {
        "job_timeout": job_timeout,
        "result_ttl": RESULT_TTL,
        "retry": CRASH_RETRIES,
        "pipeline": pipeline,
        "at_front": True,  # speed to lead: a welcome waits behind no backlog of deliveries
    }
    if delay:
        return queue.enqueue_in(timedelta(seconds=delay), WELCOME, lead_id, **options)
    return queue.enqueue(WELCOME, lead_id, **options)
