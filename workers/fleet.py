"""The worker processes: RQ's in-process SimpleWorker, tuned so a lost job is found in seconds."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, worker_registration
from rq.job import JobStatus
from rq.rate_limit import release_slot
from rq.registry import clean_registries
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker import WorkerStatus
from rq.worker_pool import WorkerPool

from service import dead_groups, lead_index
from service.keys import MAINTENANCE_LOCK
from service.lease import LEASE_GRACE_SECONDS
from service.queueing import DELIVER, WELCOME
from workers.quiet_logs import QuietRoutine
from workers.sweep import revive_lost, revive_welcomes

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
# so a live delivery is never taken for a lost one. The same grace as the lead's delivery lease:
# RQ gives up on the job just as its lease frees the lead.
HEARTBEAT_GRACE = LEASE_GRACE_SECONDS
# How often a worker asks whether `rq suspend` suspended the workers.
SUSPENSION_CHECK_EVERY = 1.0
# One worker cleans RQ's registries at a time; a worker that dies mid-clean blocks the others this long.
MAINTENANCE_LOCK_SECONDS = 2 * MAINTENANCE_INTERVAL
# A pending lead whose job has not run this long after it should have is checked for a lost job.
# A started job counts as alive while its delivery holds the lead's lease, so this need not wait
# for the job timeout; it bounds how late a retry is when no scheduler runs.
LOST_JOB_GRACE = 20
# How many overdue leads (and welcomes) one sweep looks at; the sweep runs once per interval.
SWEEP_LIMIT = 500
# A worker that quit on an error is started again after 1, 2, 4 ... seconds, at most this long.
MAX_RESTART_PAUSE = 30.0
# The jobs leadrelay enqueues per lead; none has dependents or repeats.
OWN_JOBS = frozenset({DELIVER, WELCOME})
log = logging.getLogger("leadrelay.worker")


class LeadScheduler(RQScheduler):
    """RQ's scheduler, kept running through a Redis outage instead of dying with its connection.

    A dead scheduler leaves its lock in Redis for a minute, and no other worker may schedule
    retries until it expires; one that waits for Redis keeps its lock and goes on at once.
    """

    def work(self) -> None:
        """Run RQ's scheduler loop, starting it again after a Redis error."""
        pause = 1.0
        while True:
            try:
                super().work()
                return  # stopped on request
            except RedisError as exc:
                log.warning("scheduler lost Redis (%s); trying again", type(exc).__name__)
                time.sleep(pause)
                pause = min(pause * 2, MAX_RESTART_PAUSE)


class LeadWorker(SimpleWorker):
    """An RQ SimpleWorker with fast recovery of jobs whose worker was killed."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)
        self._alive_until = 0.0  # when the worker's key expires, as far as this process knows
        self._suspension_checked = 0.0
        self._idle_written = False  # the last job's end wrote state `idle` to Redis

    def run_maintenance_tasks(self) -> None:
        """RQ's maintenance, then a sweep for pending leads whose job RQ lost.

        A Redis error skips this pass instead of ending the worker (and with it the scheduler,
        whose lock would then keep every other worker from scheduling retries for a minute).
        """
        from workers.context import context

        try:
            super().run_maintenance_tasks()
            # One worker an interval sweeps for the whole fleet: with dozens of processes, each
            # sweeping a backlog of queued leads cost more Redis time than delivering them.
            if not self.connection.set(MAINTENANCE_LOCK, self.name, nx=True, ex=MAINTENANCE_INTERVAL):
                return
            ctx = context()
            revived = revive_lost(ctx.store, grace=LOST_JOB_GRACE, limit=SWEEP_LIMIT)
            welcome_grace = ctx.store.job_timeout + LOST_JOB_GRACE
            welcomes = revive_welcomes(ctx.store, grace=welcome_grace, limit=SWEEP_LIMIT)
            # The console's indexes keep what the records keep: the longest retention, dead letters'.
            lead_index.trim(ctx.store.redis, ctx.runtime.sources, time.time() - ctx.store.dead_retention)
            dead_groups.trim(ctx.store.redis, time.time() - ctx.store.dead_retention)
            dead_groups.backfill(ctx.store.redis)
        except RedisError as exc:
            self.last_cleaned_at = now()  # try again at the next interval, not in a tight loop
            log.warning("maintenance skipped: %s", type(exc).__name__)
            return
        if revived:
            log.warning("gave %d lead(s) a new delivery job: their job was lost", revived)
        if welcomes:
            log.warning("gave %d lead(s) a new welcome job: their job was lost", welcomes)

    def execute_job(self, job: Any, queue: Any) -> None:
        """Run a job; when Redis drops mid-job, keep the worker (and its scheduler) alive.

        RQ quits the worker when it cannot record a job's end. The job needs nothing from this
        worker: its lease expires and the lost-job sweep gives its lead a new job.
        """
        try:
            super().execute_job(job, queue)
        except RedisError as exc:
            log.error("lost Redis mid-delivery (%s); its lead will be picked up again", type(exc).__name__)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat, skipped while the last one keeps the worker's key alive past the next chance.

        RQ sends its three commands, one round trip each, three times per job; the one sent with a
        job's start (pipelined) does the same. Without Redis there is nobody to tell, and the next
        one will.
        """
        ttl = timeout or self.worker_ttl + 60
        # RQ's connection timeout is an idle worker's wait for a job plus 10 s: the key outlives the
        # wait until the next chance to send one (a job's start sends its own).
        if pipeline is None and self._alive_until - time.monotonic() > self.connection_timeout:
            return
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
        else:
            try:
                with self.connection.pipeline(transaction=False) as beat:
                    super().heartbeat(timeout, beat)
                    beat.execute()
            except RedisError:
                return
        self._alive_until = time.monotonic() + ttl

    def check_for_suspension(self, burst: bool) -> None:
        """RQ's check for `rq suspend`, made at most once a second instead of before every job."""
        if time.monotonic() - self._suspension_checked < SUSPENSION_CHECK_EVERY:
            return
        super().check_for_suspension(burst)
        self._suspension_checked = time.monotonic()

    def handle_execution_ended(self, job: Any, queue: Any, heartbeat_ttl: int) -> None:
        """Note the job's end; its last heartbeat is saved with its outcome, not in a round trip alone."""
        job.ended_at = job.last_heartbeat = now()

    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any, execution: Any) -> None:
        """RQ's bookkeeping of a finished job in one transaction, the worker marked idle in it.

        RQ first WATCHes and reads the job's dependents: two round trips a job, and leadrelay's jobs
        never have dependents (nothing enqueues with `depends_on`). Any other job gets RQ's own.
        """
        if job.func_name not in OWN_JOBS or job.repeats_left:
            super().handle_job_success(job, queue, started_job_registry, execution)
            return
        with self.connection.pipeline() as pipeline:
            self.increment_successful_job_count(pipeline=pipeline)
            self.increment_total_working_time(job.ended_at - job.started_at, pipeline)
            result_ttl = job.get_result_ttl(self.default_result_ttl)
            if result_ttl != 0:
                job._handle_success(
                    result_ttl,
                    pipeline=pipeline,
                    worker_name=self.name,
                    execution_id=execution.id,
                    execution_started_at=execution.created_at,
                    execution_ended_at=job.ended_at,
                )
            job.cleanup(result_ttl, pipeline=pipeline, remove_from_queue=False)
            job._status = JobStatus.FINISHED
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.hset(self.key, "state", WorkerStatus.IDLE)  # RQ would send it alone right after
            pipeline.execute()
        self._idle_written = True
        release_slot(job)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        """RQ's worker state, written only when it changes (RQ writes `idle` twice between jobs)."""
        # A job's end wrote `idle`, but the worker turns idle here only at RQ's call after the job:
        # a SIGTERM that found it idle mid-job would stop it inside a Redis round trip.
        written, self._idle_written = self._idle_written, False
        if pipeline is None and (state == self._state or (written and state == WorkerStatus.IDLE)):
            self._state = state
            return
        super().set_state(state, pipeline)

    def _install_signal_handlers(self) -> None:
        """RQ's handlers, plus SIGHUP: re-read the sources file before the next job."""
        super()._install_signal_handlers()
        signal.signal(signal.SIGHUP, lambda _sig, _frame: _reread_sources())

    def clean_registries(self) -> None:
        """RQ's registry cleaning, under a lock that a worker dying mid-clean holds briefly.

        RQ's own lock lasts 899 s and is not released when Redis drops in the middle of a clean;
        a Redis restart then stopped RQ from re-running abandoned jobs for a quarter of an hour.
        """
        for queue in self.queues:
            if queue.connection.set(queue.registry_cleaning_key, 1, nx=True, ex=MAINTENANCE_LOCK_SECONDS):
                clean_registries(queue, self._exc_handlers)
                worker_registration.clean_worker_registry(queue)
                queue.intermediate_queue.cleanup(self, queue)
                queue.release_maintenance_lock()
        self.last_cleaned_at = now()

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO", *args: Any) -> None:
        """Start LeadScheduler where RQ would start its own scheduler (never in burst mode here)."""
        if burst:
            super()._start_scheduler(burst, logging_level, *args)
            return
        self.scheduler = LeadScheduler(
            self.queues, connection=self.connection, logging_level=logging_level, serializer=self.serializer
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            self.scheduler.start()

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        """Presume a started job lost soon after its timeout instead of a minute later."""
        return int(job.timeout or 60) + HEARTBEAT_GRACE


def _reread_sources() -> None:
    """Make this process re-read the sources file (a no-op before its first job built the context)."""
    from workers.context import context

    if context.cache_info().currsize:
        context().runtime.sources_file.force()


class LeadWorkerPool(WorkerPool):
    """RQ's worker pool, passing SIGHUP on to its worker processes."""

    def _install_signal_handlers(self) -> None:
        """RQ's handlers, plus SIGHUP forwarded to every worker."""
        super()._install_signal_handlers()
        signal.signal(signal.SIGHUP, lambda _sig, _frame: self._forward_hup())

    def _forward_hup(self) -> None:
        """Send SIGHUP to every worker process."""
        for data in list(self.worker_dict.values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(data.pid, signal.SIGHUP)


def run_fleet(redis: Redis, queues: list[str], processes: int, burst: bool) -> None:
    """Run `processes` workers (with the scheduler that delayed retries need) until stopped."""
    for name in ("rq.worker", "rq.scheduler"):
        logging.getLogger(name).addFilter(QuietRoutine())
    if processes == 1:
        _supervise(redis, queues, burst)
        return
    # The pool starts a new process for any worker that dies.
    pool = LeadWorkerPool(
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
