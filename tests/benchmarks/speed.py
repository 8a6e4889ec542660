"""Speed to lead: receipt to the welcome message accepted by Callbell, at a steady 50 leads/s.

Leads are posted over HTTP to the production gunicorn config at a fixed pace (open loop: a slow
answer does not slow the sender down), each a new person, through a source whose welcome goes to
every new contact. The sandbox answers every request after 100 ms. The figures come from each
lead's own record (received, welcome accepted); the run checks from the stack's counters that
every lead was stored (no duplicate), delivered as a new contact and welcomed once.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import requests

from service.embedded_redis import free_port
from tests.benchmarks.harness import LEADRELAY, Stack, serve_production, start, stop

SOURCES = """
[defaults]
default_region = "US"
channel_uuid = "chan-whatsapp"

[sources.web]
preset = "form"
auth = "none"
tags = ["Website"]
[sources.web.welcome]
template_uuid = "tpl-welcome"
values = ["{first_name|there}"]
consent = "assumed"
"""


def _post_at_pace(base: str, rate: float, seconds: float, run: str) -> tuple[list[str], int]:
    """Post `rate` new leads a second for `seconds` on a fixed schedule; return (lead ids, failures)."""
    session = requests.Session()
    ids: list[str] = []
    failures = 0
    began = time.monotonic()
    for n in range(int(rate * seconds)):
        pause = began + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        data = {"name": f"Lead {run} {n}", "phone": f"+1415{2_000_000 + n:07d}", "email": f"l{n}@example.com"}
        answer = session.post(f"{base}/v1/leads/web", data=data, timeout=10)
        if answer.status_code == 202:
            ids.append(answer.json()["lead_id"])
        else:
            failures += 1
    return ids, failures


def run(stack: Stack, workdir: Path, rate: float = 50, seconds: float = 30, processes: int = 24) -> dict:
    """p50/p95/p99/max from receipt to welcome accepted, at `rate` leads/s with 100 ms latency."""
    redis = stack.redis_client()
    redis.flushall()
    stack.configure_sandbox(latency_ms=100, rps_limit=300)
    sources = workdir / "speed-sources.toml"
    sources.write_text(SOURCES)
    port = free_port()
    env = {
        "REDIS_URL": stack.redis.url,
        "CALLBELL_API_URL": f"{stack.sandbox_url}/v1",
        "CALLBELL_MAX_RPS": "250",
        "LEADRELAY_SOURCES": str(sources),
    }
    api = serve_production("service:create_app()", env, port, workdir / "speed-api.log")
    workers = start([LEADRELAY, "worker", "--processes", str(processes)], env, workdir / "speed-workers.log")
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(3)  # the worker processes connect
        ids, failures = _post_at_pace(base, rate, seconds, run=str(int(time.time())))
        deadline = time.monotonic() + 120
        records: list[dict] = []
        while time.monotonic() < deadline:
            with redis.pipeline(transaction=False) as pipe:
                for lead_id in ids:
                    pipe.hmget(f"leadrelay:lead:{lead_id}", "received_at", "welcome", "welcome_at")
                records = pipe.execute()
            if all(r[1] not in (None, b"due", b"sending") for r in records):
                break
            time.sleep(1)
    finally:
        stop(workers)
        stop(api)
    outcomes = {
        s: sum(1 for r in records if (r[1] or b"none").decode() == s) for s in ("accepted", "unknown")
    }
    waits = sorted(float(r[2]) - float(r[0]) for r in records if r[1] == b"accepted")
    messages = requests.get(f"{stack.sandbox_url}/_sandbox/messages", timeout=10).json()["messages"]
    counters = {k.decode(): int(v) for k, v in redis.hgetall("leadrelay:metrics:counters").items()}
    stored = counters.get("leads_received|outcome=queued|source=web", 0)
    duplicates = counters.get("leads_received|outcome=duplicate|source=web", 0)
    if failures or duplicates or stored != len(ids) or len(messages) != len(ids) or not waits:
        raise SystemExit(
            f"speed benchmark not valid: {failures} failed posts, {duplicates} duplicates, {stored} stored, "
            f"{len(messages)} messages for {len(ids)} leads, welcomes {outcomes}"
        )

    def pct(share: float) -> float:
        return round(waits[min(len(waits) - 1, int(len(waits) * share))] * 1000, 1)

    result = {
        "rate": rate,
        "seconds": seconds,
        "leads": len(ids),
        "worker_processes": processes,
        "welcomes": outcomes,
        "p50_ms": round(statistics.median(waits) * 1000, 1),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(waits[-1] * 1000, 1),
    }
    print(f"speed to lead: {json.dumps(result)}", flush=True)
    return result


if __name__ == "__main__":  # python -m tests.benchmarks.speed [leads/s] [seconds]
    import sys
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="leadrelay-bench-"))
    stack = Stack(workdir)
    try:
        args = [float(a) for a in sys.argv[1:3]]
        run(stack, workdir, *args, *[int(a) for a in sys.argv[3:4]])
    finally:
        stack.close()
