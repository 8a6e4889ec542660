"""Welcomes under faults: killed workers, a restarted Redis, answers lost after Callbell took the
message, and a Callbell that makes a second contact for a known phone. Every person is welcomed at
most once, every lead's contact is delivered once, and every welcome whose fate is unknown says so."""

from __future__ import annotations

import collections
import time

import pytest
import requests
from redis import Redis

from service.embedded_redis import EmbeddedRedis, free_port
from service.keys import WELCOME_PENDING
from tests.chaos_tools import LeadFlow, all_delivered, assert_one_contact_per_lead, kill_mid_delivery
from tests.conftest import wait_for
from tests.helpers import configure

pytestmark = pytest.mark.chaos
SOURCES = """
[defaults]
default_region = "US"
channel_uuid = "chan-whatsapp"

[sources.website]
preset = "form"
auth = "none"
[sources.website.welcome]
template_uuid = "tpl-welcome"
values = ["{first_name|there}"]
consent = "assumed"
"""
ENDED = ("accepted", "unknown", "failed", "skipped")


def welcomes(redis: Redis, lead_ids: list[str]) -> dict[str, str]:
    with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids:
            pipe.hget(f"leadrelay:lead:{lead_id}", "welcome")
        return {i: (w or b"none").decode() for i, w in zip(lead_ids, pipe.execute(), strict=True)}


def test_every_person_is_welcomed_at_most_once_through_kills_and_a_redis_restart(
    make_app, sandbox, start_worker, tmp_path
):
    server = EmbeddedRedis(tmp_path / "aof-redis", port=free_port(), appendonly=True).start()
    try:
        client = make_app(SOURCES, redis_url=server.url, job_timeout=5).test_client()
        # A tenth of the messages are taken by Callbell and answered too late (read timeout 1 s).
        configure(
            sandbox,
            latency_ms=30,
            duplicate_contacts=True,
            fault_paths=["/messages"],
            timeout_rate=0.1,
            hold_seconds=2,
        )
        env = {"REDIS_URL": server.url, "LEADRELAY_SOURCES": str(tmp_path / "sources.toml")}
        workers = [start_worker(**env) for _ in range(3)]
        watcher = Redis.from_url(server.url)
        flow = LeadFlow(client, pause=0.02)
        time.sleep(2)
        kill_mid_delivery(watcher, workers, lambda: start_worker(**env))
        time.sleep(1)
        server.stop()  # a graceful restart: the AOF is written
        time.sleep(1)
        server.start()
        time.sleep(2)
        kill_mid_delivery(watcher, workers, lambda: start_worker(**env))
        time.sleep(2)
        accepted = flow.stop()
        assert len(accepted) > 40
        all_delivered(watcher, accepted, timeout=150)
        assert_one_contact_per_lead(sandbox, len(accepted))
        wait_for(lambda: set(welcomes(watcher, accepted).values()) <= set(ENDED), timeout=150, interval=0.5)

        outcome = welcomes(watcher, accepted)
        messages = requests.get(f"{sandbox}/_sandbox/messages", timeout=5).json()["messages"]
        per_person = collections.Counter(m["to"] for m in messages)
        assert max(per_person.values()) == 1  # nobody got two welcomes
        per_lead = collections.Counter(m["metadata"]["lead_id"] for m in messages)
        for lead_id, state in outcome.items():
            if state == "accepted":
                assert per_lead[lead_id] == 1, (lead_id, state)
            elif state != "unknown":  # unknown: sent or not, said so on the lead
                assert per_lead[lead_id] == 0, (lead_id, state)
        counts = collections.Counter(outcome.values())
        assert counts["accepted"] > len(accepted) // 2, counts
        metrics = client.get("/metrics").text
        for state in ("accepted", "unknown"):
            if counts[state]:
                assert f'leadrelay_welcomes_total{{outcome="{state}"}} {float(counts[state])}' in metrics
        assert watcher.zcard(WELCOME_PENDING) == 0  # nothing left waiting for a welcome
        print(f"{len(accepted)} leads, welcomes {dict(counts)}, {len(messages)} messages")
    finally:
        server.stop()
