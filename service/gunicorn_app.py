"""Run a WSGI app under gunicorn from Python, so `leadrelay serve` and `leadrelay sandbox` need no shell."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger


def production_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings the API runs with: `leadrelay serve` and deploy/gunicorn.conf.py alike."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Each process listens on its own SO_REUSEPORT socket, so the kernel spreads connections over
        # the processes. On one shared socket, the process that wakes first can take every keep-alive
        # connection a load balancer opens and serve them all alone while the others idle.
        "reuse_port": True,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 30,
        "accesslog": None,
        "errorlog": "-",
        # The heartbeat file on tmpfs: a slow container disk must not make gunicorn kill healthy workers.
        "worker_tmp_dir": "/dev/shm",  # noqa: S108
        "when_ready": announce_address,
    }


def announce_address(arbiter: Any) -> None:
    """gunicorn's when_ready hook: name the address, which gunicorn leaves blank with SO_REUSEPORT."""
    arbiter.log.info("Listening at: %s (each process on its own socket)", ", ".join(arbiter.cfg.bind))


class HupForwardingArbiter(Arbiter):
    """gunicorn's arbiter, except that SIGHUP goes to the workers instead of restarting them.

    Each worker then re-reads the sources file and keeps the last good one if the new one is
    broken; a restart would boot workers on the broken file and stop the API instead.
    """

    def handle_hup(self) -> None:
        """Pass SIGHUP on to every worker."""
        self.log.info("SIGHUP: the workers re-read the sources file")
        for pid in list(self.WORKERS):
            self.kill_worker(pid, signal.SIGHUP)


class JsonLogger(Logger):
    """gunicorn's logger, its lines handed to the root logger: JSON, scrubbed, like every other line."""

    def setup(self, cfg: Any) -> None:
        """Set gunicorn's loggers up, then send their lines through the root logger's handler."""
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True


def reread_sources_on_hup(worker: Any) -> None:
    """gunicorn's post_worker_init hook: watch the sources file; SIGHUP re-reads it at once."""
    sources_file = worker.wsgi.extensions["leadrelay"].sources_file
    sources_file.watch()
    # The handler only sets a flag: reading and logging belong to the watcher thread, not to a signal.
    signal.signal(signal.SIGHUP, lambda _sig, _frame: sources_file.force())


class GunicornApp(BaseApplication):
    """A gunicorn application whose workers each build their app with `factory()`."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any], forward_hup: bool = False):
        self.factory = factory
        self.options = options
        self.forward_hup = forward_hup
        super().__init__()

    def load_config(self) -> None:
        """Apply the options gunicorn knows; unknown names are a programming error."""
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # Newer gunicorn opens a control socket at one path under $HOME, shared by every
            # instance on the machine (API, sandbox, tests); nothing here uses it.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        """Build the app inside the worker process (its own Redis connections)."""
        return self.factory()

    def run(self) -> None:
        """Run the arbiter (the HUP-forwarding one when asked) until stopped."""
        arbiter = HupForwardingArbiter if self.forward_hup else Arbiter
        try:
            arbiter(self).run()
        except RuntimeError as exc:
            print(f"\nError: {exc}\n", file=sys.stderr)
            sys.exit(1)
