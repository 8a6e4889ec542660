"""The worker processes: RQ's in-process SimpleWorker, tuned so a lost job is found in seconds."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

# A delivery waits on the network, not the CPU: forking a process per job (RQ's default Worker)
# would cost more than the delivery itself, so each process runs jobs in-process, one at a time,
# and throughput comes from running several processes (`--processes`).
# How often a worker looks for jobs whose worker died (RQ's default is 10 minutes).
MAINTENANCE_INTERVAL = 10
# A worker re-announces itself this often; idle workers wake at least every WORKER_TTL - 15 s to
# do maintenance, so a lost job is found even when no new lead arrives.
WORKER_TTL = 25
# A started job is presumed lost once its timeout plus this grace has passed without an end.
# SimpleWorker sends no heartbeat while a job runs, and the job's own timeout stops it first,
# so a live delivery is never taken for a lost one.
HEARTBEAT_GRACE = 5
# A pending lead whose job has not run this long after it should have is checked for a lost job.
LOST_JOB_GRACE = 10
# A worker that quit on an error is started again after 1, 2, 4 ... seconds, at most this long.
MAX_RESTART_PAUSE = 30.0
log = logging.getLogger("leadrelay.worker")


class LeadWorker(SimpleWorker):
    """An RQ SimpleWorker with fast recovery of jobs whose worker was killed."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)

    def run_maintenance_tasks(self) -> None:
        """RQ's maintenance, then a sweep for pending leads whose job RQ lost."""
        super().run_maintenance_tasks()
        from workers.jobs import context

        try:
            ctx = context()
            revived = ctx.store.revive_lost(grace=ctx.settings.job_timeout + LOST_JOB_GRACE)
        except RedisError as exc:
            log.warning("lost-job sweep skipped: %s", type(exc).__name__)
            return
        if revived:
            log.warning("gave %d lead(s) a new delivery job: their job was lost", revived)

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        """Presume a started job lost soon after its timeout instead of a minute later."""
        return int(job.timeout or 60) + HEARTBEAT_GRACE


def run_fleet(redis: Redis, queues: list[str], processes: int, burst: bool) -> None:
    """Run `processes` workers (with the scheduler that delayed retries need) until stopped."""
    if processes == 1:
        _supervise(redis, queues, burst)
        return
    # The pool starts a new process for any worker that dies.
    pool = WorkerPool(
        queues, connection=redis, num_workers=processes, worker_class=LeadWorker, serializer=JSONSerializer
    )
    pool.start(burst=burst, logging_level="INFO")


def _supervise(redis: Redis, queues: list[str], burst: bool) -> None:
    """Run one worker in this process, starting a new one if it quits on an error (Redis went away).

    RQ's worker gives up when Redis vanishes in the middle of a job; the job itself is safe (RQ
    finds it abandoned once Redis is back), but a worker that stays down delivers nothing.
    """
    pause = 1.0
    while True:
        worker = LeadWorker(queues, connection=redis)
        try:
            worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
        except RedisError as exc:
            log.error("worker stopped on a Redis error (%s); starting a new one", type(exc).__name__)
        if burst or worker._shutdown_requested_date is not None:  # stopped by SIGTERM or Ctrl-C
            return
        time.sleep(pause)
        pause = min(pause * 2, MAX_RESTART_PAUSE)
