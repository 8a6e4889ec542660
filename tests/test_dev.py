"""`leadrelay dev` (what `make run` calls): the whole system up, a lead delivered, Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import requests

from service.embedded_redis import free_port
from tests import procs
from tests.conftest import wait_for


def operator_env() -> dict[str, str]:
    """A fresh terminal's environment: nothing leadrelay-specific set."""
    unset = ("REDIS_URL", "CALLBELL_API_TOKEN", "CALLBELL_API_URL", "LEADRELAY_SOURCES", "LEADRELAY_ENV_FILE")
    return {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("LEADRELAY_ADMIN")}


def leadrelay(*args: str, cwd, env=None) -> subprocess.CompletedProcess:
    """Run a `leadrelay` command as an operator types it in another terminal."""
    return subprocess.run(
        [procs.LEADRELAY, *args],
        cwd=cwd,
        env=env or operator_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dev_runs_everything_and_ctrl_c_stops_what_it_started(tmp_path):
    port, sandbox_port, redis_port = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            procs.LEADRELAY,
            "dev",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--redis-port",
            str(redis_port),
        ],
        cwd=tmp_path,
        env=operator_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    env_file = tmp_path / "var" / "leadrelay.env"
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

        # A second terminal in the same directory reaches the same Redis without being told.
        wait_for(env_file.exists)
        assert f"REDIS_URL=redis://127.0.0.1:{redis_port}/0" in env_file.read_text()
        assert env_file.stat().st_mode & 0o077 == 0  # it holds the admin token: the owner's only
        bad = requests.post(f"http://127.0.0.1:{port}/v1/leads/website", data={"name": "Ada", "phone": "1"})
        listed = leadrelay("dead-letters", "list", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert bad.json()["lead_id"] in listed.stdout
        assert f"1 dead letter(s) in REDIS_URL=redis://127.0.0.1:{redis_port}/0" in listed.stderr

        # A second `leadrelay dev` refuses at once instead of half-starting.
        started_at = time.monotonic()
        second = leadrelay(
            "dev", "--port", str(free_port()), "--sandbox-port", str(free_port()), cwd=tmp_path
        )
        assert second.returncode != 0
        assert "already running from this directory" in second.stderr
        assert time.monotonic() - started_at < 20
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert f"curl -i -X POST http://127.0.0.1:{port}/v1/leads/website" in output
    assert str(Path("var") / "leadrelay.env") in output  # the banner names the file
    assert f"Console: http://127.0.0.1:{port}/console/" in output
    assert not env_file.exists()  # gone with the run: no stale address for the next terminal
    # Grandchildren (gunicorn workers, RQ's scheduler) may take a moment longer than their parents.
    _, alive = psutil.wait_procs(started, timeout=15)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_a_command_that_cannot_reach_redis_says_so_in_one_line(tmp_path):
    port = free_port()
    env = {**operator_env(), "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    result = leadrelay("dead-letters", "list", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"cannot reach Redis at REDIS_URL=redis://127.0.0.1:{port}/0: "
        f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."
    ]


def test_operator_commands_need_no_sender_secrets(tmp_path, redis_server):
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[sources.zapier]\npreset = "json"\nauth = "api_key"\nsecret_env = "UNSET_ZAPIER_KEY"\n'
    )
    env = {**operator_env(), "REDIS_URL": redis_server.url, "LEADRELAY_SOURCES": str(sources)}
    listed = leadrelay("dead-letters", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    served = leadrelay("serve", "--port", str(free_port()), cwd=tmp_path, env=env)  # the intake needs it
    assert served.returncode == 2
    assert "UNSET_ZAPIER_KEY is not set" in served.stderr
