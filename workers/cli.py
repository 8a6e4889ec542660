"""`leadrelay worker`; every option falls back to an environment variable."""

from __future__ import annotations

import sys

import click

from service import logs
from service.deadletters_cli import runtime_or_exit
from service.sources import WORKER


@click.command("worker")
@click.option(
    "--processes",
    "-n",
    envvar="LEADRELAY_WORKER_PROCESSES",
    default=1,
    show_default=True,
    type=int,
    help="worker processes on this machine (each delivers one lead at a time)",
)
@click.option("--burst", is_flag=True, envvar="LEADRELAY_WORKER_BURST", help="exit once the queue is empty")
@click.option("--queues", envvar="LEADRELAY_QUEUE", default=None, help="queue names, comma-separated")
def worker(processes: int, burst: bool, queues: str | None) -> None:
    """Run delivery workers (with the scheduler that delayed retries need)."""
    from workers.fleet import run_fleet

    rt = runtime_or_exit(WORKER)
    logs.configure(rt.secrets())
    names = [q.strip() for q in (queues or rt.settings.queue_name).split(",") if q.strip()]
    run_fleet(rt.redis, names, processes, burst)


@click.command("worker-health")
def worker_health() -> None:
    """Exit 0 when a delivery worker on this host is registered in Redis (a container healthcheck)."""
    import socket

    from rq import Worker

    rt = runtime_or_exit(WORKER)
    host = socket.gethostname()
    # A worker's registration expires when it stops sending heartbeats (during a delivery, once the
    # job timeout has passed): registered means alive.
    alive = [w for w in Worker.all(connection=rt.redis) if w.hostname == host]
    if not alive:
        click.echo(f"no delivery worker registered from {host}", err=True)
        sys.exit(1)
    click.echo(f"{len(alive)} delivery worker(s) alive on {host}")
