"""Intake enqueues deliveries from a recording of RQ's own commands: the jobs must be RQ's jobs."""

from __future__ import annotations

import re
import zlib

from rq.job import Job

from service.keys import Status
from service.queueing import DELIVER, ON_FAILURE, DeliveryJobs, enqueue_delivery, make_queue

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _normalised(commands, job_id: str) -> list[list[object]]:  # type: ignore[no-untyped-def]
    """Commands with the job id and the times replaced, and the job's data decompressed."""
    out = []
    for command in commands:
        words = []
        for i, word in enumerate(command):
            if isinstance(word, str) and STAMP.match(word):
                word = "<time>"
            elif isinstance(word, str):
                word = word.replace(job_id, "<job>")
            elif isinstance(word, bytes) and i and command[i - 1] == "data":
                word = zlib.decompress(word)
            words.append(word)
        out.append(words)
    return out


def test_refilled_commands_are_the_ones_rq_sends_for_that_lead(redis):
    queue = make_queue(redis, "leadrelay")
    jobs = DeliveryJobs(queue, job_timeout=45)
    for lead_id in ("9f" * 16, "0123456789abcdef" * 2):
        job_id, ours = jobs.commands(lead_id)
        with redis.pipeline(transaction=False) as recorder:
            enqueue_delivery(queue, lead_id, recorder, 45, job_id="rq-own-job")
            rqs = [list(c) for c, _ in recorder.command_stack]
            recorder.reset()
        assert _normalised(ours, job_id) == _normalised(rqs, "rq-own-job")


def test_a_refilled_job_reads_back_through_rq_as_the_lead_s_delivery(redis):
    queue = make_queue(redis, "leadrelay")
    jobs = DeliveryJobs(queue, job_timeout=45)
    job_ids = []
    for lead_id in ("a1" * 16, "b2" * 16):
        job_id, commands = jobs.commands(lead_id)
        with redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            pipe.execute()
        job_ids.append(job_id)
        job = Job.fetch(job_id, connection=redis, serializer=queue.serializer)
        assert (job.func_name, job.args, job.kwargs) == (DELIVER, [lead_id], {})
        assert job.get_status() == Status.QUEUED
        assert job.timeout == 45 and job.retries_left == 5 and job.origin == "leadrelay"
        assert f"{job.failure_callback.__module__}.{job.failure_callback.__name__}" == ON_FAILURE
        assert job.description == f"{DELIVER}('{lead_id}')"
        assert job.enqueued_at is not None and job.created_at is not None
    assert len(set(job_ids)) == 2
    assert queue.get_job_ids() == job_ids  # in order, on the delivery queue workers read
