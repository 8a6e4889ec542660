"""The worker processes: RQ's in-process SimpleWorker, tuned so a lost job is found in seconds."""

from __future__ import annotations

from typing import Any

from redis import Redis
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


class LeadWorker(SimpleWorker):
    """An RQ SimpleWorker with fast recovery of jobs whose worker was killed."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        """Presume a started job lost soon after its timeout instead of a minute later."""
        return int(job.timeout or 60) + HEARTBEAT_GRACE


def run_fleet(redis: Redis, queues: list[str], processes: int, burst: bool) -> None:
    """Run `processes` workers (with the scheduler that delayed retries need) until stopped."""
    if processes == 1:
        LeadWorker(queues, connection=redis).work(burst=burst, with_scheduler=True, logging_level="INFO")
        return
    pool = WorkerPool(
        queues, connection=redis, num_workers=processes, worker_class=LeadWorker, serializer=JSONSerializer
    )
    pool.start(burst=burst, logging_level="INFO")
