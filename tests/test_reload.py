"""Fix the sources file under a running API and worker, replay, delivered: no restart needed."""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from service.embedded_redis import free_port
from tests import procs
from tests.conftest import ADMIN_TOKEN, wait_for
from tests.helpers import contacts

SOURCES = """
[defaults]
default_region = "{region}"

[sources.website]
preset = "form"
auth = "none"
"""
LEAD = {"name": "Ada Lovelace", "phone": "(415) 555-0100"}  # a US number written without +1
SEEN = iter(range(10**6))


def post(base: str) -> int:
    """Post the lead from a new person (a copy would be answered as a duplicate); return the status."""
    return requests.post(
        f"{base}/v1/leads/website", data={**LEAD, "name": f"Lead {next(SEEN)}"}, timeout=5
    ).status_code


@pytest.fixture
def api(tmp_path, worker_env, redis):
    """A real `leadrelay serve` (two gunicorn workers) on a sources file the test rewrites."""
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES.format(region="GB"))
    port = free_port()
    env = {**worker_env, "LEADRELAY_SOURCES": str(path), "LEADRELAY_ADMIN_TOKEN": ADMIN_TOKEN}
    log = tmp_path / "api.log"
    process = procs.start(["serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"], env, log)
    base = f"http://127.0.0.1:{port}"
    procs.wait_http(f"{base}/readyz", process)
    wait_for(lambda: log.read_text().count("watching the sources file") >= 2, timeout=15)  # both booted
    yield base, path, process, log
    procs.stop(process)


def accepted_everywhere(base: str) -> bool:
    """True when eight new leads in a row are accepted: both API processes then use the fixed file."""
    return all(post(base) == 202 for _ in range(8))


def replace(path, text: str) -> None:
    """Write a new version of the file the way editors and config tools do: a new file moved in place."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def test_a_fixed_mapping_applies_to_replay_and_new_leads_without_a_restart(api, sandbox, start_worker):
    base, path, _, log = api
    start_worker(LEADRELAY_SOURCES=str(path))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    rejected = requests.post(f"{base}/v1/leads/website", data=LEAD, timeout=5)
    assert rejected.status_code == 422  # not a valid number in the GB region
    lead_id = rejected.json()["lead_id"]

    replace(path, SOURCES.format(region="US"))
    time.sleep(1.5)  # every process looks at the file once a second
    replayed = wait_for(
        lambda: (
            (r := requests.post(f"{base}/v1/leads/{lead_id}/replay", headers=admin, timeout=5)).status_code
            == 202
            and r
        ),
        timeout=15,
    )
    assert replayed.json()["status"] == "queued"
    wait_for(
        lambda: (
            requests.get(f"{base}/v1/leads/{lead_id}", headers=admin, timeout=5).json()["status"]
            == "delivered"
        )
    )
    assert [c["phoneNumber"] for c in contacts(sandbox)] == ["14155550100"]
    wait_for(lambda: accepted_everywhere(base), timeout=15)  # new leads use the fixed file too

    replace(path, "[sources.website\npreset = ")  # a broken edit
    errors = wait_for(
        lambda: [line for line in log.read_text().splitlines() if "sources file not reloaded" in line],
        timeout=15,
    )
    assert str(path) in errors[0] and "not valid TOML" in errors[0]
    assert accepted_everywhere(base)  # the last good file stays in force


def test_sighup_makes_the_api_re_read_the_sources_file(api):
    base, path, process, log = api
    replace(path, SOURCES.format(region="US"))
    # Both API processes must have the new file before it is rewritten unseen below.
    wait_for(lambda: log.read_text().count("sources file reloaded") >= 2, timeout=15)
    assert accepted_everywhere(base)
    before = path.stat()
    with open(path, "r+") as fh:  # same size, same inode, same modification time: no change to see
        fh.write(SOURCES.format(region="GB"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    time.sleep(1.5)
    assert post(base) == 202  # still US
    os.kill(process.pid, signal.SIGHUP)
    wait_for(
        lambda: all(
            requests.post(f"{base}/v1/leads/website", data=LEAD, timeout=5).status_code == 422
            for _ in range(4)
        )
    )
    assert process.poll() is None  # SIGHUP re-read the file; it did not restart or stop the API
