"""Shared pieces of the benchmarks: processes, a private Redis, the sandbox, CPU and memory sampling."""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
from pathlib import Path

import psutil
import requests

from service.embedded_redis import EmbeddedRedis, free_port
from tests import procs

LEADRELAY = str(Path(sys.executable).with_name("leadrelay"))
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a command in its own process group, output to `log`."""
    return procs.run(command, env, log)


def serve_production(app: str, env: dict[str, str], port: int, log: Path, ready: str = "/readyz"):  # type: ignore[no-untyped-def]
    """Start `app` under the production gunicorn config on 127.0.0.1:`port`; wait for `ready`."""
    process = start(
        [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), app],
        {**env, "PORT": str(port), "LEADRELAY_HOST": "127.0.0.1"},
        log,
    )
    procs.wait_http(f"http://127.0.0.1:{port}{ready}", process)
    return process


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group; SIGKILL it if it lingers."""
    procs.stop(process, timeout=20)


def tree(process: subprocess.Popen) -> list[psutil.Process]:
    """The process and all its descendants."""
    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU seconds of running processes and of the children they have reaped (RQ's forked horses)."""
    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


class Stack:
    """A private Redis and a sandbox, for one benchmark session."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.redis = EmbeddedRedis(workdir / "redis", appendonly=False).start()
        self.sandbox_port = free_port()
        self.sandbox = start(
            [LEADRELAY, "sandbox", "--port", str(self.sandbox_port), "--threads", "256"],
            {},
            workdir / "sandbox.log",
        )
        procs.wait_http(f"{self.sandbox_url}/healthz", self.sandbox)

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def configure_sandbox(self, **changes: object) -> None:
        requests.post(f"{self.sandbox_url}/_sandbox/config", json=changes, timeout=5).raise_for_status()
        requests.post(f"{self.sandbox_url}/_sandbox/reset", timeout=5).raise_for_status()

    def redis_client(self):  # type: ignore[no-untyped-def]
        from redis import Redis

        return Redis.from_url(self.redis.url)

    def close(self) -> None:
        stop(self.sandbox)
        self.redis.stop()
