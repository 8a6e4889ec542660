"""What a duplicate costs with 0, 10,000 and 100,000 leads waiting in the queue.

A duplicate must cost the same however long the queue is (a backlog is exactly when senders
retry most). Each round fills the queue through the store, stores one lead, then sends the same
lead again 2,000 times through the store's own `accept`; Redis's own per-command statistics give
the time the script spent inside Redis, and the run checks that every copy was answered as a
duplicate and the queue did not grow.
"""

from __future__ import annotations

import time

from service.keys import METRIC_COUNTERS
from service.queueing import make_queue
from service.records import NewLead
from service.settings import Settings
from service.store import LeadStore
from tests.benchmarks import delivery
from tests.benchmarks.harness import Stack

COPIES = 2000


def run(stack: Stack, backlogs: tuple[int, ...] = (0, 10_000, 100_000)) -> dict:
    """Microseconds per duplicate, in Redis and end to end, at each backlog."""
    redis = stack.redis_client()
    store = LeadStore(redis, make_queue(redis, "leadrelay"), Settings.load({"redis_url": stack.redis.url}))
    lead = NewLead("bench", "application/json", b"{}", delivery.contact(1))
    counters = ("leads_received|outcome=queued|source=bench", "leads_received|outcome=duplicate|source=bench")
    result = {}
    for backlog in backlogs:
        redis.flushall()
        delivery.preload(stack, backlog)
        store.accept(lead, "bench-copy", counters)
        queued = redis.llen("rq:queue:leadrelay")
        redis.config_resetstat()
        began = time.perf_counter()
        for _ in range(COPIES):
            store.accept(lead, "bench-copy", counters)
        wall = (time.perf_counter() - began) / COPIES * 1e6
        stats = redis.info("commandstats")
        inside = stats.get("cmdstat_evalsha", {})
        duplicates = int(redis.hget(METRIC_COUNTERS, counters[1]) or 0)
        if duplicates != COPIES or redis.llen("rq:queue:leadrelay") != queued or queued != backlog + 1:
            raise SystemExit(f"duplicates benchmark not valid at {backlog}: {duplicates} duplicates counted")
        result[str(backlog)] = {
            "queued": queued,
            "redis_usec_per_duplicate": round(float(inside.get("usec_per_call", 0)), 1),
            "wall_usec_per_duplicate": round(wall, 1),
        }
        print(f"duplicates with {backlog} queued: {result[str(backlog)]}", flush=True)
    redis.flushall()
    return result


if __name__ == "__main__":  # python -m tests.benchmarks.duplicates
    import tempfile
    from pathlib import Path

    stack = Stack(Path(tempfile.mkdtemp(prefix="leadrelay-bench-")))
    try:
        run(stack)
    finally:
        stack.close()
