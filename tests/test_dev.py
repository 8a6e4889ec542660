"""`leadrelay dev` (what `make run` calls): the whole system up, a lead delivered, Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess

import psutil
import requests

from service.embedded_redis import free_port
from tests import procs
from tests.conftest import wait_for


def test_dev_runs_everything_and_ctrl_c_stops_what_it_started(tmp_path):
    port, sandbox_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CALLBELL_API_TOKEN", "LEADRELAY_SOURCES")
    }
    process = subprocess.Popen(
        [
            procs.LEADRELAY,
            "dev",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--data-dir",
            str(tmp_path / "var"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/readyz", process, timeout=40)
        started = psutil.Process(process.pid).children(recursive=True)
        assert len(started) >= 4  # redis, sandbox, API, worker

        lead = requests.post(
            f"http://127.0.0.1:{port}/v1/leads/website",
            data={"name": "Ada Lovelace", "phone": "+1 415 555 0100"},
            timeout=5,
        )
        assert lead.status_code == 202
        wait_for(
            lambda: requests.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/contacts", timeout=5).json()[
                "contacts"
            ]
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert f"curl -i -X POST http://127.0.0.1:{port}/v1/leads/website" in output
    # Grandchildren (gunicorn workers, RQ's scheduler) may take a moment longer than their parents.
    _, alive = psutil.wait_procs(started, timeout=15)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
