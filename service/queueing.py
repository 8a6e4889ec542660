"""How a delivery job is put on the queue; shared by intake, replay and the worker."""

from __future__ import annotations

import uuid
import zlib
from datetime import timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now, utcformat

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
    queue: Queue,
    lead_id: str,
    pipeline: Pipeline | None = None,
    job_timeout: int = DEFAULT_JOB_TIMEOUT,
    job_id: str | None = None,
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
        job_id=job_id,
    )


class DeliveryJobs:
    """The commands RQ sends to enqueue a delivery, recorded from RQ once and refilled for each lead.

    Building RQ's Job object costs intake about 0.3 ms of CPU a lead; refilling the recorded
    commands (a new job id, the lead id, the times, the job's data) costs a tenth of that. The
    recording is RQ's own, and tests/test_queueing.py checks the refill against RQ job by job.
    """

    _LEAD = "lead0template0000000000000000000"
    _JOB = "job0template"

    def __init__(self, queue: Queue, job_timeout: int = DEFAULT_JOB_TIMEOUT):
        self._queue = queue
        self._job_timeout = job_timeout
        self._template: list[list[Any]] = []

    def _record(self) -> None:
        """Record RQ's commands once (on first use: RQ asks Redis its version while it builds them)."""
        with self._queue.connection.pipeline(transaction=False) as recorder:
            job = enqueue_delivery(self._queue, self._LEAD, recorder, self._job_timeout, job_id=self._JOB)
            template = [list(command) for command, _options in recorder.command_stack]
            recorder.reset()
        self._data = zlib.compress(job.data)
        self._stamps = {utcformat(t) for t in (job.created_at, job.enqueued_at) if t}
        self._serializer = job.serializer
        self._template = template

    def commands(self, lead_id: str) -> tuple[str, list[list[Any]]]:
        """A new job id and the commands that enqueue the delivery of `lead_id` under it."""
        if not self._template:
            self._record()
        job_id = str(uuid.uuid4())
        stamp = utcformat(now())
        data = zlib.compress(self._serializer.dumps((DELIVER, None, (lead_id,), {})))
        filled = []
        for command in self._template:
            out = []
            for word in command:
                if isinstance(word, str):
                    if word in self._stamps:
                        word = stamp
                    elif self._JOB in word:
                        word = word.replace(self._JOB, job_id)
                    elif self._LEAD in word:
                        word = word.replace(self._LEAD, lead_id)
                elif word == self._data:
                    word = data
                out.append(word)
            filled.append(out)
        return job_id, filled


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
