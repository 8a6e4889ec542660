"""Delivery: the worker fleet against the sandbox, and the plain RQ way on the same leads, side by side."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import psutil
import requests
from rq import Queue

from service.keys import lead_key
from service.queueing import make_queue
from service.records import NewLead
from service.settings import Settings
from service.store import LeadStore
from tests.benchmarks.harness import BIN, LEADRELAY, Stack, cpu_seconds, start, stop, tree

DELIVERED = b"delivery_attempts|outcome=delivered|status=200"


def contact(n: int) -> dict:
    return {
        "source": "whatsapp",
        "identifier": f"1415{n // 10000 % 10}55{n % 10000:04d}",
        "name": f"Lead {n}",
        "tags": ["Bench"],
        "custom_fields": {"Email": f"lead{n}@example.com"},
    }


def preload(stack: Stack, count: int, enqueue: bool = True) -> list[str]:
    """Store `count` valid leads with their jobs, as intake would (without the HTTP part)."""
    redis = stack.redis_client()
    store = LeadStore(redis, make_queue(redis, "leadrelay"), Settings.load({"redis_url": stack.redis.url}))
    return [
        store.accept(
            NewLead(
                "bench",
                "application/json",
                b"{}",
                contact(n),
                enqueue=enqueue,
                status="queued" if enqueue else "delivered",
            )
        )[0]
        for n in range(count)
    ]


def _sample_rss(processes: list[psutil.Process], peak: dict[int, int]) -> None:
    for p in processes:
        with contextlib.suppress(psutil.Error):
            peak[p.pid] = max(peak.get(p.pid, 0), p.memory_info().rss)


def run_fleet(
    stack: Stack,
    workdir: Path,
    count: int,
    latency_ms: int,
    max_rps: int,
    processes: int,
    plain: bool = False,
    time_limit: float = 300,
) -> dict:
    """Deliver `count` preloaded leads; return throughput, Callbell rates, CPU, memory, losses."""
    redis = stack.redis_client()
    redis.flushall()
    stack.configure_sandbox(latency_ms=latency_ms, rps_limit=300)
    env = {
        "REDIS_URL": stack.redis.url,
        "CALLBELL_API_URL": f"{stack.sandbox_url}/v1",
        "CALLBELL_MAX_RPS": str(max_rps),
    }
    if plain:  # RQ's default forking Worker, one `rq worker` per process
        fleet = [
            start([str(BIN / "rq"), "worker", "--url", stack.redis.url, "plain"], env, workdir / "plain.log")
            for _ in range(processes)
        ]
    else:
        fleet = [start([LEADRELAY, "worker", "--processes", str(processes)], env, workdir / "worker.log")]
    time.sleep(4 + processes * 0.15)  # let every process import and register before CPU is counted
    members = [p for f in fleet for p in tree(f)]
    cpu_before = cpu_seconds(members)
    started = time.monotonic()  # leads are loaded while the fleet already works, as in production
    if plain:
        queue = Queue("plain", connection=redis)
        lead_ids = preload(stack, count, enqueue=False)
        redis.eval(
            "for i, k in ipairs(KEYS) do redis.call('hset', k, 'status', 'queued') end",
            len(lead_ids),
            *[lead_key(i) for i in lead_ids],
        )
        queue.enqueue_many(
            [
                Queue.prepare_data("tests.benchmarks.plain_rq.deliver_plain", (lead_id,))
                for lead_id in lead_ids
            ]
        )
    else:
        lead_ids = preload(stack, count)
    peak: dict[int, int] = {}
    sampled = 0.0
    while time.monotonic() - started < time_limit:
        if time.monotonic() - sampled >= 2:  # listing the processes scans /proc: not too often
            _sample_rss([p for f in fleet for p in tree(f)], peak)
            sampled = time.monotonic()
        done = _delivered(redis, lead_ids, plain)
        if done >= count:
            break
        time.sleep(0.25)
    _sample_rss([p for f in fleet for p in tree(f)], peak)
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds([p for f in fleet for p in tree(f)])
    for process in fleet:
        stop(process)
    report = _report(stack, redis, lead_ids, cpu_after - cpu_before, peak, processes, elapsed)
    report["percent_of_budget"] = round(report["callbell_rps"] / max_rps * 100, 1)
    if elapsed >= time_limit:  # a time-bounded run: what is left was not lost, just not reached
        report["not_reached_in_time"] = report.pop("lost")
    return report


def _delivered(redis, lead_ids: list[str], plain: bool) -> int:  # type: ignore[no-untyped-def]
    if not plain:
        return int(redis.hget("leadrelay:metrics:counters", DELIVERED) or 0)
    with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids[-50:]:
            pipe.hget(lead_key(lead_id), "status")
        tail_done = all(s == b"delivered" for s in pipe.execute())
    return len(lead_ids) if tail_done and redis.llen("rq:queue:plain") == 0 else 0


def _report(
    stack: Stack,
    redis,
    lead_ids: list[str],
    cpu: float,
    peak: dict[int, int],
    processes: int,  # type: ignore[no-untyped-def]
    duration: float,
) -> dict:
    with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids:
            pipe.hget(lead_key(lead_id), "status")
        rows = pipe.execute()
    delivered = [r for r in rows if r == b"delivered"]
    stats = requests.get(f"{stack.sandbox_url}/_sandbox/stats", timeout=10).json()
    contacts = requests.get(f"{stack.sandbox_url}/_sandbox/contacts", timeout=30).json()["contacts"]
    phones = [c["phoneNumber"] for c in contacts]
    rss = sorted(peak.values())
    # Callbell's view of the run: from its first request to its last (the fleet's start-up and the
    # loading of the leads are not in it), as an outside measurement would clock it.
    span = max(stats["last_request_at"] - stats["first_request_at"], 1e-9)
    return {
        "leads": len(lead_ids),
        "delivered": len(delivered),
        "lost": len(lead_ids) - len(delivered),
        "duplicate_contacts": len(phones) - len(set(phones)),
        "seconds": round(duration, 1),
        "leads_per_s": round(len(delivered) / span, 1),
        "callbell_rps": round(stats["total"] / span, 1),
        "callbell_429": stats["rate_limited"],
        "peak_rps_window": stats["peak_requests_per_second"],
        "cpu_s_per_1000": round(cpu / max(len(delivered), 1) * 1000, 2),
        "peak_rss_mb_per_process": round(rss[-1] / 2**20, 1) if rss else 0.0,
        "processes": processes,
    }
