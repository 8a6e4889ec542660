"""Deduplication: senders retry and people double-click; a copy is acknowledged and never delivered twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from service.keys import DEDUP_PREFIX
from tests import payloads

LEAD = {"name": "Ada Lovelace", "phone": "+14155550100"}

SOURCES = """
[sources.website]
preset = "form"
auth = "none"
[sources.other]
preset = "form"
auth = "none"
[sources.typeform]
preset = "typeform"
auth = "none"
"""


def queued(redis) -> int:
    return redis.llen("rq:queue:leadrelay")


def test_double_click_is_one_lead(make_app, redis):
    client = make_app(SOURCES).test_client()
    first = client.post("/v1/leads/website", data=LEAD)
    second = client.post("/v1/leads/website", data=LEAD)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.get_json() == {
        "lead_id": first.get_json()["lead_id"],
        "status": "queued",
        "duplicate": True,
    }
    assert queued(redis) == 1


def test_idempotency_key_wins_over_the_content(make_app, redis):
    client = make_app(SOURCES).test_client()
    first = client.post("/v1/leads/website", data=LEAD, headers={"Idempotency-Key": "order-17"})
    changed = client.post(
        "/v1/leads/website", data={**LEAD, "name": "Ada L."}, headers={"Idempotency-Key": "order-17"}
    )
    assert changed.get_json()["duplicate"] is True
    assert changed.get_json()["lead_id"] == first.get_json()["lead_id"]
    other_key = client.post("/v1/leads/website", data=LEAD, headers={"Idempotency-Key": "order-18"})
    assert other_key.status_code == 202
    assert queued(redis) == 2


def test_sender_event_id_identifies_a_redelivery(make_app, redis):
    client = make_app(SOURCES).test_client()
    assert client.post("/v1/leads/typeform", json=payloads.typeform("evt-1")).status_code == 202
    assert client.post("/v1/leads/typeform", json=payloads.typeform("evt-1")).status_code == 200
    assert client.post("/v1/leads/typeform", json=payloads.typeform("evt-2")).status_code == 202
    assert queued(redis) == 2


def test_sources_do_not_share_keys(make_app, redis):
    client = make_app(SOURCES).test_client()
    assert client.post("/v1/leads/website", data=LEAD).status_code == 202
    assert client.post("/v1/leads/other", data=LEAD).status_code == 202


def test_window_is_configurable(make_app, redis):
    client = make_app(SOURCES, dedup_window_hours=2).test_client()
    client.post("/v1/leads/website", data=LEAD)
    [key] = redis.keys(f"{DEDUP_PREFIX}*")
    assert 7100 < redis.ttl(key) <= 7200


def test_copies_arriving_together_are_stored_once(make_app, redis):
    app = make_app(SOURCES)

    def post(_):
        return app.test_client().post("/v1/leads/website", data=LEAD).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(16)))
    assert codes.count(202) == 1
    assert codes.count(200) == 15
    assert queued(redis) == 1
