"""`make bench`: run every benchmark once, print the tables and write them to bench-results/latest.json."""

from __future__ import annotations

import cProfile
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.benchmarks import console, delivery, duplicates, intake, speed
from tests.benchmarks.harness import ROOT, Stack

LEADS = int(os.environ.get("BENCH_LEADS", "10000"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "32"))


def memory(stack: Stack) -> dict:
    """Redis bytes per queued lead (record + job) and per stored record alone, at 10k and 100k leads."""
    redis = stack.redis_client()
    result = {}
    for count in (10_000, 100_000):
        redis.flushall()
        before = redis.info("memory")["used_memory"]
        delivery.preload(stack, count)
        queued = redis.info("memory")["used_memory"]
        redis.delete("rq:queue:leadrelay")  # what is left once the jobs are done: the records
        for keys in _batches(redis.scan_iter("rq:job:*", count=5000)):
            redis.delete(*keys)
        result[f"queued_{count}"] = round((queued - before) / count)
        result[f"record_{count}"] = round((redis.info("memory")["used_memory"] - before) / count)
    redis.flushall()
    return result


def _batches(keys, size: int = 1000):  # type: ignore[no-untyped-def]
    batch = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def profile(stack: Stack, workdir: Path, requests_count: int = 2000) -> list[tuple[str, float]]:
    """Profile the intake path in-process once; return the top own-time costs."""
    from service import create_app

    sources = workdir / "sources.toml"
    sources.write_text(intake.SOURCES)
    os.environ["BENCH_KEY"] = "bench-key-123"
    client = create_app({"redis_url": stack.redis.url, "sources_path": str(sources)}).test_client()
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(requests_count):
        client.post(
            "/v1/leads/web?key=bench-key-123",
            data={"name": "Ada Lovelace", "phone": f"(415) 555-{n:04d}", "email": "ada@example.com"},
        )
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    by_module: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = _area(filename)
        by_module[key] = by_module.get(key, 0.0) + tottime
    return sorted(((k, round(v / total * 100, 1)) for k, v in by_module.items()), key=lambda kv: -kv[1])[:8]


def _area(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in filename:
            rest = filename.split(marker, 1)[1].lstrip("/")
            return rest.split("/")[0] if marker == "site-packages/" else "stdlib:" + rest.split("/")[1]
    return "leadrelay:" + Path(filename).name if filename.startswith(str(ROOT)) else filename


def main() -> None:
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="leadrelay-bench-"))
    stack = Stack(workdir)
    started = time.monotonic()
    results: dict = {
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
    }
    try:
        results["intake"] = intake.run(stack, workdir)
        _print_intake(results["intake"])
        results["duplicates"] = duplicates.run(stack)
        results["speed_to_lead"] = speed.run(stack, workdir)
        results["console"] = console.run(stack, workdir)
        print(f"console pages, slowest p95: {results['console']['slowest_p95_ms']} ms", flush=True)
        runs = {}
        for name, latency, rps, plain in (
            ("ours_0ms_250", 0, 250, False),
            ("ours_100ms_250", 100, 250, False),
            ("ours_100ms_300", 100, 300, False),
            ("plain_rq_100ms", 100, 250, True),
        ):
            # The plain RQ baseline is slow: it gets 90 s, and its rates come from what it delivered.
            runs[name] = delivery.run_fleet(
                stack, workdir, LEADS, latency, rps, PROCESSES, plain=plain, time_limit=90 if plain else 300
            )
            print(name, runs[name], flush=True)
        runs["cpu_ratio_plain_over_ours"] = round(
            runs["plain_rq_100ms"]["cpu_s_per_1000"] / max(runs["ours_100ms_250"]["cpu_s_per_1000"], 1e-9), 2
        )
        results["delivery"] = runs
        results["delivery_scaling"] = {
            str(p): delivery.run_fleet(stack, workdir, 400 * p, 100, 250, p, time_limit=15)
            for p in (1, 2, 4, 8)
        }
        print("delivery scaling", results["delivery_scaling"], flush=True)
        results["redis_bytes"] = memory(stack)
        print("redis bytes", results["redis_bytes"], flush=True)
        results["intake_profile_percent"] = profile(stack, workdir)
        print("intake profile (own time %)", results["intake_profile_percent"], flush=True)
    finally:
        stack.close()
    results["total_seconds"] = round(time.monotonic() - started)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"written to {out / 'latest.json'} in {results['total_seconds']} s")


def _print_intake(result: dict) -> None:
    print(
        "| connections | full leads/s | p50 ms | p99 ms | floor leads/s | floor p99 ms "
        "| bare leads/s | bare p99 ms | full/bare | floor/bare |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for connections, row in result["by_connections"].items():
        full, floor, bare = row["full"], row["floor"], row["bare"]
        print(
            f"| {connections} | {full['rps']:.0f} | {full['p50_ms']:.1f} | {full['p99_ms']:.1f} "
            f"| {floor['rps']:.0f} | {floor['p99_ms']:.1f} | {bare['rps']:.0f} | {bare['p99_ms']:.1f} "
            f"| {row['full_ratio']:.2f} | {row['floor_ratio']:.2f} |"
        )
    print("web workers:", {k: round(v["rps"]) for k, v in result["web_workers"].items()}, flush=True)


if __name__ == "__main__":
    sys.exit(main())
