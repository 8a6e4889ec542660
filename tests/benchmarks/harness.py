"""Shared pieces of the benchmarks: processes, a private Redis, the sandbox, CPU and memory sampling."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from service.embedded_redis import EmbeddedRedis, free_port

LEADRELAY = str(Path(sys.executable).with_name("leadrelay"))
BIN = Path(sys.executable).parent


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a command in its own session, output to `log`."""
    return subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group; SIGKILL it after 20 s."""
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until `url` answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def tree(process: subprocess.Popen) -> list[psutil.Process]:
    """The process and all its descendants."""
    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of still-running processes."""
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
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
        wait_http(f"{self.sandbox_url}/healthz")

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
