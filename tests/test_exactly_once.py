"""One delivery of a lead at a time, and never a second one once it is delivered.

The sandbox runs its worst case here: a second POST /contacts for a known phone creates a second
contact, as Callbell may (its documentation does not say), so only leadrelay can keep a lead single.
"""

from __future__ import annotations

import time

import pytest
import requests
from rq.job import Job
from rq.serializers import JSONSerializer

from service.keys import PENDING_INDEX, lead_key, lease_key
from service.lease import LeaseLost
from service.queueing import enqueue_delivery
from tests.conftest import wait_for
from tests.helpers import configure, contacts, final, post_lead
from workers.sweep import revive_lost


def creates(sandbox: str) -> int:
    stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()
    return stats["requests"].get("POST /v1/contacts", {}).get("200", 0)


def job_status(redis, job_id: str) -> str:
    return Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status(refresh=True)


@pytest.fixture
def slow_worst_case(make_app, sandbox):
    """An app with 5 s jobs, a lead posted, and a sandbox that is slow and makes duplicate contacts."""
    app = make_app(job_timeout=5)
    configure(sandbox, duplicate_contacts=True, latency_ms=300)
    client = app.test_client()
    return app, client, post_lead(client)


def test_two_jobs_for_one_lead_running_at_once_deliver_it_once(
    slow_worst_case, admin_headers, sandbox, start_worker, redis
):
    app, client, lead_id = slow_worst_case
    store = app.extensions["leadrelay"].store
    second = enqueue_delivery(store.queue, lead_id, job_timeout=5)  # what RQ and the sweep can both do
    start_worker()
    start_worker()
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "delivered"
    assert record["attempt_count"] == 1
    wait_for(lambda: job_status(redis, second.id) == "finished")
    assert creates(sandbox) == 1
    assert len(contacts(sandbox)) == 1
    assert [a["request"] for a in record["attempts"]] == ["lookup", "create"]


def test_lost_job_that_rq_re_enqueues_while_the_sweep_revives_it_is_delivered_once(
    slow_worst_case, admin_headers, sandbox, start_worker, redis
):
    app, client, lead_id = slow_worst_case
    old_job = redis.hget(lead_key(lead_id), "job_id").decode()
    # What a worker SIGKILLed mid-delivery leaves behind: the job started, its registry entry
    # expired, and the lead overdue. RQ's cleanup will re-enqueue the job...
    redis.lrem("rq:queue:leadrelay", 0, old_job)
    redis.hset(f"rq:job:{old_job}", "status", "started")
    redis.zadd("rq:wip:leadrelay", {f"{old_job}:killed-execution": time.time() - 1})
    redis.zadd(PENDING_INDEX, {lead_id: time.time() - 1000})
    # ... and the sweep, judging the lead's job lost (started, and no delivery holds the lease),
    # gives it a new one.
    store = app.extensions["leadrelay"].store
    assert revive_lost(store, grace=0) == 1
    new_job = redis.hget(lead_key(lead_id), "job_id").decode()
    assert new_job != old_job
    start_worker()
    start_worker()
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "delivered"
    # Both jobs ran: RQ really re-ran the old one, and it did not deliver again.
    wait_for(lambda: job_status(redis, old_job) == "finished" and job_status(redis, new_job) == "finished")
    assert creates(sandbox) == 1
    assert len(contacts(sandbox)) == 1
    assert record["attempt_count"] == 1


def test_a_delivered_lead_is_not_delivered_again_by_a_stray_job(
    make_app, admin_headers, sandbox, start_worker, redis
):
    app = make_app(job_timeout=5)
    client = app.test_client()
    configure(sandbox, duplicate_contacts=True)
    start_worker()
    lead_id = post_lead(client)
    assert final(client, admin_headers, lead_id)["status"] == "delivered"
    stray = enqueue_delivery(app.extensions["leadrelay"].store.queue, lead_id, job_timeout=5)
    wait_for(lambda: job_status(redis, stray.id) == "finished")
    assert creates(sandbox) == 1
    assert requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()["total"] == 2  # look-up, create


def test_sweep_leaves_a_lead_whose_delivery_holds_the_lease(make_app, redis):
    app = make_app(job_timeout=5)
    lead_id = post_lead(app.test_client())
    job_id = redis.hget(lead_key(lead_id), "job_id").decode()
    redis.lrem("rq:queue:leadrelay", 0, job_id)  # taken by a worker...
    redis.hset(f"rq:job:{job_id}", "status", "started")
    redis.set(f"leadrelay:lease:{lead_id}", "a-live-delivery", px=10_000)  # ... which is delivering it
    redis.zadd(PENDING_INDEX, {lead_id: time.time() - 1000})
    store = app.extensions["leadrelay"].store
    assert revive_lost(store, grace=0) == 0
    assert redis.hget(lead_key(lead_id), "job_id").decode() == job_id
    redis.delete(f"leadrelay:lease:{lead_id}")  # the delivery's worker died and its lease ran out
    redis.zadd(PENDING_INDEX, {lead_id: time.time() - 1000})
    assert revive_lost(store, grace=0) == 1
    assert redis.hget(lead_key(lead_id), "job_id").decode() != job_id


def test_an_outcome_is_written_only_by_the_job_that_holds_the_lease(make_app, redis):
    app = make_app(job_timeout=5)
    lead_id = post_lead(app.test_client())
    store = app.extensions["leadrelay"].store
    assert store.leases.take(lead_id, lead_key(lead_id), "first-job", 5).state == "taken"
    redis.set(lease_key(lead_id), "second-job")  # the first job's lease ran out; another job took it
    with pytest.raises(LeaseLost):
        store.finish_attempt(lead_id, "delivered", 1, [], lease_token="first-job", source="website")
    assert redis.hget(lead_key(lead_id), "status") == b"queued"  # nothing of the stale job's outcome
    assert redis.get(lease_key(lead_id)) == b"second-job"  # and the holder keeps its lease
    store.finish_attempt(lead_id, "delivered", 1, [], lease_token="second-job", source="website")
    assert redis.hget(lead_key(lead_id), "status") == b"delivered"
    assert redis.get(lease_key(lead_id)) is None  # the outcome gives the lease back
    assert redis.zscore(PENDING_INDEX, lead_id) is None
