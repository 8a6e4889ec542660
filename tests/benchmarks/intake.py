"""Intake: the full stack against a bare Flask ceiling, under the production gunicorn settings, with wrk."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

from service.embedded_redis import free_port
from tests.benchmarks.harness import Stack, median, serve_production, stop

SOURCES = """
[sources.web]
preset = "form"
auth = "api_key"
secret_env = "BENCH_KEY"
tags = ["Website"]
[sources.web.custom_fields]
"Email" = "email"
"""
# Every request a different person, in every run and thread (the run id and thread number go into
# the name), so deduplication never short-cuts the work; run() checks that from the metrics.
WRK_SCRIPT = """
local counter = 0
local threads = 0
local prefix = "run"
local form = "name=Lead+%s+%d&phone=%%28415%%29+555-%04d&email=lead%%40example.com&interest=Pricing"
local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  prefix = (args[1] or "run") .. "t" .. tostring(tid)
end
request = function()
  counter = counter + 1
  local body = string.format(form, prefix, counter, counter % 10000)
  return wrk.format("POST", "/v1/leads/web?key=bench-key-123", headers, body)
end
"""


# The full stack; the same bare Flask app plus only the lead's one write to Redis (a floor: what
# intake would reach if everything else a lead needs cost nothing); the bare app (the ceiling).
APPS = {
    "full": "service:create_app()",
    "floor": "tests.benchmarks.floor_app:create_app()",
    "bare": "tests.benchmarks.bare_app:create_app()",
}


def ensure_wrk() -> str:
    """Find wrk, installing Debian's package when it is missing and we may."""
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("make bench needs wrk (apt-get install wrk)")
    return found


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, script: Path) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 latency in ms, and non-2xx answers."""
    run_id = uuid.uuid4().hex[:12]  # a new set of people for every run
    out = subprocess.run(
        [
            ensure_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            run_id,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": float(bad.group(1)) if bad else 0.0}


def serve(app: str, stack: Stack, workdir: Path, web_workers: int, port: int) -> object:
    """Start gunicorn with the production config file on `app`."""
    sources = workdir / "sources.toml"
    sources.write_text(SOURCES)
    env = {
        "REDIS_URL": stack.redis.url,
        "LEADRELAY_SOURCES": str(sources),
        "BENCH_KEY": "bench-key-123",
        "WEB_CONCURRENCY": str(web_workers),
    }
    # Any answer will do, even a 404: the bare app has no readiness check.
    return serve_production(app, env, port, workdir / f"gunicorn-{port}.log", ready="/")


def duplicates(base: str) -> int:
    """How many leads the stack answered as duplicates, from its own counters (/metrics)."""
    import requests

    text = requests.get(f"{base}/metrics", timeout=10).text
    return int(
        sum(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("leadrelay_leads_received_total") and 'outcome="duplicate"' in line
        )
    )


def run(stack: Stack, workdir: Path, runs: int = 3, seconds: int = 5) -> dict:
    """Full stack, floor and ceiling at 16 and 64 connections (medians of `runs`), then web-worker scaling."""
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT)
    ports = {name: free_port() for name in APPS}
    servers = {name: serve(app, stack, workdir, 2, ports[name]) for name, app in APPS.items()}
    results: dict = {"runs": runs, "seconds": seconds, "by_connections": {}}
    try:
        for connections in (16, 64):
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in APPS}
            for _ in range(runs):  # interleaved, so drift on a noisy machine hits each alike
                for name in APPS:
                    samples[name].append(wrk(f"http://127.0.0.1:{ports[name]}", connections, seconds, script))
            row = {name: {k: median([s[k] for s in rows]) for k in rows[0]} for name, rows in samples.items()}
            for name in ("full", "floor"):
                row[f"{name}_ratio"] = median(
                    [f["rps"] / b["rps"] for f, b in zip(samples[name], samples["bare"], strict=True)]
                )
            results["by_connections"][str(connections)] = row
        # The full stack's /metrics reads the counters in Redis, which the floor's leads are counted in too.
        results["duplicates"] = duplicates(f"http://127.0.0.1:{ports['full']}")
        if results["duplicates"]:
            raise SystemExit(
                f"intake benchmark: {results['duplicates']} duplicate(s): the figures are not valid"
            )
    finally:
        for server in servers.values():
            stop(server)
    results["web_workers"] = {}
    for web_workers in (1, 2, 4, 8):
        port = free_port()
        process = serve("service:create_app()", stack, workdir, web_workers, port)
        try:
            results["web_workers"][str(web_workers)] = wrk(f"http://127.0.0.1:{port}", 16, 3, script)
        finally:
            stop(process)
    return results
