"""Faults while leads flow: killed workers, a restarted Redis, a failing and a rate-limiting Callbell.

Each test asserts what a user cares about: every accepted lead ends delivered, exactly once, with
no duplicate contact. `make test` runs a representative size; `make test-chaos` sets CHAOS_LEADS and
CHAOS_KILLS for the long run (1,000 leads, 20 kills).
"""

from __future__ import annotations

import os
import time

import pytest
import requests

from service.embedded_redis import EmbeddedRedis, free_port
from tests.chaos_tools import (
    LeadFlow,
    all_delivered,
    assert_one_contact_per_lead,
    kill_mid_delivery,
    phone,
    post_many,
)
from tests.conftest import wait_for
from tests.helpers import configure

pytestmark = pytest.mark.chaos
LEADS = int(os.environ.get("CHAOS_LEADS", "150"))
KILLS = int(os.environ.get("CHAOS_KILLS", "5"))


def test_workers_sigkilled_mid_delivery_lose_nothing_and_double_nothing(
    make_app, sandbox, start_worker, redis
):
    client = make_app(job_timeout=5).test_client()  # lost jobs are found 10 s after they started
    # Callbell's worst case: a second POST for a known phone makes a second contact.
    configure(sandbox, latency_ms=25, duplicate_contacts=True)
    workers = [start_worker() for _ in range(3)]
    per_round = LEADS // (KILLS + 1)
    lead_ids: list[str] = []
    for round_number in range(KILLS + 1):
        lead_ids += post_many(client, per_round, start=len(lead_ids))
        if round_number < KILLS:
            kill_mid_delivery(redis, workers, start_worker)
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


def test_redis_restarted_twice_while_leads_flow_loses_no_lead(make_app, sandbox, start_worker, tmp_path):
    """Leads flow, workers are killed mid-delivery, Redis stops, comes back, is stopped again while
    still loading its AOF, and comes back: every accepted lead is delivered, once."""
    from redis import Redis

    server = EmbeddedRedis(tmp_path / "aof-redis", port=free_port(), appendonly=True).start()
    try:
        watcher = Redis.from_url(server.url)
        with watcher.pipeline(transaction=False) as pipe:  # enough data that loading takes a moment
            for n in range(200_000):
                pipe.set(f"padding:{n}", "x" * 50)
            pipe.execute()
        client = make_app(redis_url=server.url, job_timeout=5).test_client()
        configure(sandbox, latency_ms=40, error_rate=0.05, duplicate_contacts=True)
        env = {"REDIS_URL": server.url}
        workers = [start_worker("--processes", "2", **env), start_worker(**env), start_worker(**env)]
        flow = LeadFlow(client, pause=0.01)
        time.sleep(2)
        kill_mid_delivery(watcher, workers[1:], lambda: start_worker(**env))
        time.sleep(1)
        server.stop()
        time.sleep(1)
        server.start(wait=False)
        time.sleep(0.3)  # still loading its AOF: stop it again
        server.stop()
        server.start()
        time.sleep(2)
        kill_mid_delivery(watcher, workers[1:], lambda: start_worker(**env))
        time.sleep(2)
        accepted = flow.stop()
        assert len(accepted) > 50
        back = time.monotonic()
        all_delivered(watcher, accepted, timeout=150)
        print(f"all {len(accepted)} delivered {time.monotonic() - back:.1f} s after the flow stopped")
        assert_one_contact_per_lead(sandbox, len(accepted))
        stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()
        assert stats["requests"]["POST /v1/contacts"]["200"] == len(accepted)  # one create per lead
    finally:
        server.stop()
