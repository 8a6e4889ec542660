"""`leadrelay serve`: every gunicorn process takes its share of connections, and one API per port."""

from __future__ import annotations

import psutil
import pytest
import requests

from service.embedded_redis import free_port
from tests import procs
from tests.conftest import wait_for

CONNECTIONS = 16


@pytest.fixture
def api(tmp_path, worker_env):
    """A real `leadrelay serve` with two gunicorn processes; yields (port, process, its log)."""
    port = free_port()
    process = procs.start(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        worker_env,
        tmp_path / "api.log",
    )
    procs.wait_http(f"http://127.0.0.1:{port}/readyz", process)
    workers = psutil.Process(process.pid).children()
    wait_for(lambda: all(_listens(w, port) for w in workers), timeout=15)  # both booted
    yield port, process, tmp_path / "api.log"
    procs.stop(process)


def _listens(worker: psutil.Process, port: int) -> bool:
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in worker.net_connections())


def _held(worker: psutil.Process, port: int) -> int:
    """How many client connections to `port` this gunicorn process holds open."""
    return sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in worker.net_connections())


def test_keep_alive_connections_are_spread_over_every_api_process(api):
    # A load balancer keeps its connections open; if one process took them all, the API would run
    # on one core whatever WEB_CONCURRENCY says.
    port, process, log = api
    assert f"Listening at: 127.0.0.1:{port}" in log.read_text()  # gunicorn's own line leaves it blank
    sessions = [requests.Session() for _ in range(CONNECTIONS)]
    try:
        for session in sessions:  # one kept-alive connection each
            assert session.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        workers = psutil.Process(process.pid).children()
        held = [_held(w, port) for w in workers]
        assert len(workers) == 2
        assert sum(held) == CONNECTIONS
        assert min(held) > 0, f"connections per process: {held}"
    finally:
        for session in sessions:
            session.close()


def test_a_second_api_on_the_same_port_refuses_and_the_first_keeps_serving(api, worker_env, tmp_path):
    port, _, _ = api
    log = tmp_path / "second.log"
    second = procs.start(["serve", "--host", "127.0.0.1", "--port", str(port)], worker_env, log)
    assert second.wait(timeout=30) == 1
    assert f"port {port} on 127.0.0.1 is in use" in log.read_text()
    assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
