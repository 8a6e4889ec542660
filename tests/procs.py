"""Start real leadrelay processes for tests and wait until they answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

LEADRELAY = str(Path(sys.executable).with_name("leadrelay"))


def start(args: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start `leadrelay ARGS` in its own process group, output to `log`."""
    return run([LEADRELAY, *args], env, log)


def run(command: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
    """Start any command in its own process group, output to `log`."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (handed to the child)
    return subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_http(url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait until `url` answers, failing early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # not listening yet, or still loading the app
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop a process group: `sig` first, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
