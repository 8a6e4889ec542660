"""Crash safety and the shared rate limit, with real worker processes."""

from __future__ import annotations

import os
import signal
import threading

import requests
from rq.job import Job
from rq.utils import now

from service.keys import lead_key
from service.queueing import make_queue
from tests import procs
from tests.conftest import wait_for
from tests.helpers import LEAD, configure, contacts, final, lead, post_lead


def test_lead_of_a_sigkilled_worker_is_delivered_once_by_another(
    make_app, admin_headers, sandbox, start_worker
):
    # A short job timeout makes the lost job expire in seconds rather than a minute.
    client = make_app(job_timeout=5).test_client()
    configure(sandbox, latency_ms=2000)
    doomed = start_worker(CALLBELL_READ_TIMEOUT="3")
    lead_id = post_lead(client)
    # Kill the worker while its look-up is in flight at Callbell.
    wait_for(lambda: requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()["in_flight"] >= 1)
    procs.stop(doomed, sig=signal.SIGKILL)
    assert lead(client, admin_headers, lead_id)["status"] == "queued"  # neither delivered nor failed
    configure(sandbox, latency_ms=0)
    start_worker()
    record = final(client, admin_headers, lead_id, timeout=60)
    assert record["status"] == "delivered"
    assert len(contacts(sandbox)) == 1


def test_rate_limit_holds_across_worker_processes(make_app, admin_headers, sandbox, start_worker):
    client = make_app().test_client()
    # Callbell (here 20/s) sits above the workers' budget (18/s), as 300/s sits above the default 250/s.
    configure(sandbox, rps_limit=20, latency_ms=20)
    lead_ids = [post_lead(client, {**LEAD, "phone": f"+1415555{n:04d}"}) for n in range(40)]
    start_worker("--processes", "2", CALLBELL_MAX_RPS="18")
    start_worker(CALLBELL_MAX_RPS="18")
    for lead_id in lead_ids:
        assert final(client, admin_headers, lead_id, timeout=60)["status"] == "delivered"
    stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()
    assert stats["total"] == 80, stats  # a look-up and a create per lead, no retries
    assert stats["rate_limited"] == 0
    # Callbell's limit (20/s here) was never reached: the workers' shared budget kept every
    # process below it. (Arrival jitter can put one request over the 18/s budget in a window.)
    assert stats["peak_requests_per_second"] <= 20
    assert len(contacts(sandbox)) == 40


def test_sigterm_lets_the_worker_finish_its_delivery(client, admin_headers, sandbox, start_worker):
    configure(sandbox, latency_ms=1500)
    worker = start_worker(CALLBELL_READ_TIMEOUT="5")
    lead_id = post_lead(client)
    wait_for(lambda: requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()["in_flight"] >= 1)
    procs.stop(worker, sig=signal.SIGTERM, timeout=20)
    assert worker.returncode == 0
    assert lead(client, admin_headers, lead_id)["status"] == "delivered"  # finished before exiting
    assert len(contacts(sandbox)) == 1


def test_sigterm_while_a_delivery_s_end_is_written_stops_the_worker_after_that_write(
    client, admin_headers, sandbox, worker_env, redis, monkeypatch
):
    # SIGTERM (a deploy, `docker stop`) lands while the worker writes a finished delivery's end,
    # Redis holding writes back for a moment. RQ's warm shutdown must wait for that write: stopping
    # inside the round trip once left the job half-recorded and the worker running on until killed.
    from workers.context import context
    from workers.fleet import LeadWorker

    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)
    context.cache_clear()  # the worker's context from this environment
    lead_id = post_lead(client)
    queue = make_queue(redis, "leadrelay")
    job = Job.fetch(
        redis.hget(lead_key(lead_id), "job_id").decode(), connection=redis, serializer=queue.serializer
    )
    worker = LeadWorker([queue], connection=redis)
    worker.register_birth()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    worker._install_signal_handlers()
    try:
        execution = worker.prepare_execution(job)  # RQ's SimpleWorker.execute_job, step by step
        worker.prepare_job_execution(job, True)
        job.started_at = now()
        returned = job.perform()  # the delivery, against the sandbox
        redis.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        worker._finalize_success(job, queue, execution, returned)  # the job's end, held by Redis
    finally:
        redis.execute_command("CLIENT", "UNPAUSE")
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        context.cache_clear()
    assert worker._stop_requested  # the stop waits until the job's end is written
    assert job.get_status(refresh=True) == "finished"
    assert queue.started_job_registry.get_job_ids() == []
    assert lead(client, admin_headers, lead_id)["status"] == "delivered"
    worker.set_state("idle")  # RQ's own call after a job: now the worker is idle
    assert worker.get_state() == "idle"


def test_lead_whose_job_rq_lost_gets_a_new_one(make_app, admin_headers, sandbox, start_worker, redis):
    client = make_app(job_timeout=5).test_client()
    lead_id = post_lead(client)
    # What RQ can leave behind when Redis or a worker dies between its steps: a lead with no job.
    job_id = redis.hget(f"leadrelay:lead:{lead_id}", "job_id")
    redis.lrem("rq:queue:leadrelay", 0, job_id)
    redis.delete(b"rq:job:" + job_id)
    start_worker(LEADRELAY_JOB_TIMEOUT="5")
    record = final(client, admin_headers, lead_id, timeout=60)
    assert record["status"] == "delivered"
    assert record["job_id"] != job_id.decode()
    assert len(contacts(sandbox)) == 1
