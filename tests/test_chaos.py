"""Faults while leads flow: killed workers, a restarted Redis, a failing and a rate-limiting Callbell.

Each test asserts what a user cares about: every accepted lead ends delivered, exactly once, with
no duplicate contact. `make test` runs a representative size; `make test-chaos` sets CHAOS_LEADS and
CHAOS_KILLS for the long run (1,000 leads, 20 kills).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
import requests

from service.embedded_redis import EmbeddedRedis, free_port
from tests import procs
from tests.conftest import wait_for
from tests.test_delivery import configure, contacts

pytestmark = pytest.mark.chaos
LEADS = int(os.environ.get("CHAOS_LEADS", "150"))
KILLS = int(os.environ.get("CHAOS_KILLS", "5"))


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


def post_many(client, count: int, start: int = 0) -> list[str]:
    """Post `count` leads with distinct phones; return their lead ids (every answer must be 202)."""
    ids = []
    for n in range(start, start + count):
        response = client.post("/v1/leads/website", data={"name": f"Lead {n}", "phone": phone(n)})
        assert response.status_code == 202, response.get_json()
        ids.append(response.get_json()["lead_id"])
    return ids


def statuses(redis, lead_ids: list[str]) -> list[str]:
    with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids:
            pipe.hget(f"leadrelay:lead:{lead_id}", "status")
        return [(s or b"missing").decode() for s in pipe.execute()]


def all_delivered(redis, lead_ids: list[str], timeout: float) -> None:
    """Wait until every lead is delivered; fail naming what the others are."""
    try:
        wait_for(lambda: set(statuses(redis, lead_ids)) == {"delivered"}, timeout=timeout, interval=0.5)
    except AssertionError:
        found = statuses(redis, lead_ids)
        raise AssertionError({s: found.count(s) for s in set(found)}) from None


def assert_one_contact_per_lead(sandbox: str, count: int) -> None:
    phones = [c["phoneNumber"] for c in contacts(sandbox)]
    assert len(phones) == count
    assert len(set(phones)) == count  # no duplicate contact


def test_workers_sigkilled_repeatedly_lose_nothing(make_app, sandbox, start_worker, redis):
    client = make_app(job_timeout=5).test_client()  # lost jobs are found 10 s after they started
    configure(sandbox, latency_ms=25)
    workers = [start_worker() for _ in range(3)]
    per_round = LEADS // (KILLS + 1)
    lead_ids: list[str] = []
    for round_number in range(KILLS + 1):
        lead_ids += post_many(client, per_round, start=len(lead_ids))
        if round_number < KILLS:
            time.sleep(0.3)  # let the victim get into a delivery
            victim = workers.pop(random.randrange(len(workers)))
            procs.stop(victim, sig=signal.SIGKILL)
            workers.append(start_worker())
    all_delivered(redis, lead_ids, timeout=120)
    assert_one_contact_per_lead(sandbox, len(lead_ids))
    created = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()["requests"]["POST /v1/contacts"]
    assert created.get("200") == len(lead_ids)


def test_redis_restart_keeps_queued_leads_and_scheduled_retries(make_app, sandbox, start_worker, tmp_path):
    server = EmbeddedRedis(tmp_path / "aof-redis", port=free_port(), appendonly=True).start()
    try:
        app = make_app(redis_url=server.url)
        client = app.test_client()
        configure(sandbox, error_rate=1.0)  # every lead fails and waits for a retry
        start_worker(REDIS_URL=server.url, LEADRELAY_RETRY_SCHEDULE=",".join(["2"] * 15))
        lead_ids = post_many(client, 30)
        from redis import Redis

        watcher = Redis.from_url(server.url)
        wait_for(lambda: watcher.zcard("rq:scheduled:leadrelay") > 0)
        server.stop()  # a graceful restart: Redis writes its AOF to disk
        down = client.post("/v1/leads/website", data={"name": "During Outage", "phone": phone(9000)})
        assert down.status_code == 503
        assert down.headers["Retry-After"]
        server.start()
        configure(sandbox, error_rate=0.0)
        lead_ids += post_many(client, 10, start=30)
        # Scheduled retries resume once RQ's scheduler lock (61 s) left by the stopped scheduler expires.
        all_delivered(Redis.from_url(server.url), lead_ids, timeout=180)
        assert_one_contact_per_lead(sandbox, 40)
    finally:
        server.stop()


def test_failing_and_slow_callbell_then_recovery(make_app, sandbox, start_worker, redis):
    client = make_app().test_client()
    configure(sandbox, error_rate=0.3, timeout_rate=0.1, hold_seconds=2)
    for _ in range(3):
        start_worker(LEADRELAY_RETRY_SCHEDULE="1,1,2,2,3,3,5,5,5,5,5,5")
    lead_ids = post_many(client, LEADS // 2)
    time.sleep(6)
    configure(sandbox, error_rate=0.0, timeout_rate=0.0)
    all_delivered(redis, lead_ids, timeout=120)
    assert_one_contact_per_lead(sandbox, len(lead_ids))
    assert redis.zcard("leadrelay:dead") == 0  # transient faults made no dead letter
    stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()
    failed = sum(
        n for endpoint in stats["requests"].values() for code, n in endpoint.items() if code >= "500"
    )
    assert failed > 0  # faults really were injected


def test_429_storm_is_retried_not_dead_lettered(make_app, sandbox, start_worker, redis):
    client = make_app().test_client()
    configure(sandbox, rps_limit=5)
    for _ in range(3):
        start_worker(LEADRELAY_RETRY_SCHEDULE="1,1,2,2,3,3,5,5,5,5,5,5")
    lead_ids = post_many(client, LEADS // 2)
    wait_for(lambda: requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()["rate_limited"] > 20)
    configure(sandbox, rps_limit=300)
    all_delivered(redis, lead_ids, timeout=120)
    assert_one_contact_per_lead(sandbox, len(lead_ids))
    assert redis.zcard("leadrelay:dead") == 0
