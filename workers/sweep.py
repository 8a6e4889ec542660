"""The lost-job sweep: a pending lead whose job nothing will run gets a new one.

RQ can lose a job when Redis or a worker dies between two of its steps (a job moved off the queue
and never started, a started job whose registry entry RQ's cleanup skips or delays). Every pending
lead is indexed with the time its job should run; worker maintenance looks at the overdue ones.

A job counts as alive when a delivery holds the lead's lease, or when the job waits where RQ will
find it (on the queue, or scheduled). The check is atomic: it watches the lead, its lease and its
job, so a job that RQ moves while the sweep reads makes the sweep look again on its next pass
instead of acting on what it read. An extra job is harmless anyway: the lease lets one delivery
run at a time, and a job that finds the lead finished does nothing.
"""

from __future__ import annotations

import time

from redis.client import Pipeline
from redis.exceptions import WatchError
from rq.job import Job, JobStatus

from service.keys import (
    PENDING_INDEX,
    PENDING_STATUSES,
    WELCOME_OPEN,
    WELCOME_PENDING,
    lead_key,
    lease_key,
    welcome_lease_key,
)
from service.queueing import enqueue_delivery, enqueue_welcome
from service.store import LeadStore


def revive_lost(store: LeadStore, grace: float, limit: int = 50) -> int:
    """Give a new job to pending leads overdue by `grace` seconds whose job is lost; return how many."""
    due = store.redis.zrangebyscore(PENDING_INDEX, "-inf", time.time() - grace, start=0, num=limit)
    revived = 0
    for lead_id in (i.decode() for i in due):
        try:
            revived += _revive_if_lost(store, lead_id, grace)
        except WatchError:
            continue  # the lead, its lease or its job changed while we looked: next pass
    return revived


def _revive_if_lost(store: LeadStore, lead_id: str, grace: float) -> bool:
    """Check one lead atomically and give it a new job if nothing will run its current one."""
    key = lead_key(lead_id)
    with store.redis.pipeline(transaction=True) as pipe:
        pipe.watch(key, lease_key(lead_id))
        status, job_id = pipe.hmget(key, "status", "job_id")
        if status is None or status.decode() not in PENDING_STATUSES:
            pipe.multi()
            pipe.zrem(PENDING_INDEX, lead_id)
            pipe.execute()
            return False
        alive = pipe.exists(lease_key(lead_id)) or (job_id and _waiting(pipe, store, job_id.decode(), grace))
        pipe.multi()
        if not alive:
            job = enqueue_delivery(store.queue, lead_id, pipeline=pipe, job_timeout=store.job_timeout)
            pipe.hset(key, "job_id", job.id)
        pipe.zadd(PENDING_INDEX, {lead_id: time.time()})  # look again after another grace period
        pipe.execute()
        return not alive


def _waiting(pipe: Pipeline, store: LeadStore, job_id: str, grace: float) -> bool:
    """True when RQ holds the job where a worker or the scheduler will run it.

    A job RQ calls started but whose lead's lease is free is not waiting: its worker died (or it
    is a moment from taking the lease, and the lease keeps the new job from doubling it). A job
    scheduled for more than `grace` ago is not waiting either: no scheduler is running (RQ's
    scheduler dies with its Redis connection and its lock keeps another from starting for a minute).
    """
    job_key = Job.key_for(job_id)
    pipe.watch(job_key)
    raw = pipe.hget(job_key, "status")
    status = raw.decode() if raw else ""
    if status == JobStatus.QUEUED:
        return pipe.lpos(store.queue.key, job_id) is not None
    if status == JobStatus.SCHEDULED:
        due = pipe.zscore(store.queue.scheduled_job_registry.key, job_id)
        return due is not None and due > time.time() - grace
    return status == JobStatus.DEFERRED


def revive_welcomes(store: LeadStore, grace: float, limit: int = 50) -> int:
    """Give a new welcome job to leads whose welcome is overdue by `grace` and not being sent.

    An extra welcome job is harmless: it takes the welcome's lease, and sends only a welcome that
    is still `due` (one found `sending` is recorded as unknown, never sent again).
    """
    due = store.redis.zrangebyscore(WELCOME_PENDING, "-inf", time.time() - grace, start=0, num=limit)
    revived = 0
    for lead_id in (i.decode() for i in due):
        state = store.redis.hget(lead_key(lead_id), "welcome")
        with store.redis.pipeline(transaction=True) as pipe:
            pipe.multi()
            if (state or b"").decode() not in WELCOME_OPEN:
                pipe.zrem(WELCOME_PENDING, lead_id)
            elif not store.redis.exists(welcome_lease_key(lead_id)):
                enqueue_welcome(store.queue, lead_id, pipeline=pipe, job_timeout=store.job_timeout)
                pipe.zadd(WELCOME_PENDING, {lead_id: time.time()})  # look again after another grace
                revived += 1
            pipe.execute()
    return revived
