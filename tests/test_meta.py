"""Meta Lead Ads: subscription check, notifications of several leads, fetching each from the Graph API."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests import payloads
from tests.graph_standin import graph_standin
from tests.helpers import contacts, final, lead

APP_SECRET = "meta-app-secret"
PAGE_TOKEN = "page-token-xyz"
SOURCES = """
[sources.meta]
preset = "meta_lead_ads"
auth = "meta"
secret_env = "T_META_SECRET"
verify_token_env = "T_META_VERIFY"
page_token_env = "T_META_PAGE_TOKEN"
tags = ["Meta"]
[sources.meta.custom_fields]
"Service" = "which_service?"
"""
ENV = {"T_META_SECRET": APP_SECRET, "T_META_VERIFY": "verify-me", "T_META_PAGE_TOKEN": PAGE_TOKEN}


@pytest.fixture
def meta_app(make_app, monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return make_app(SOURCES)


@pytest.fixture
def graph():
    with graph_standin(PAGE_TOKEN) as (standin, url):
        yield standin, url


def notify(client, *leadgen_ids):
    body = json.dumps(payloads.meta_notification(*leadgen_ids)).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/v1/leads/meta",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )


def start_meta_worker(start_worker, meta_app, graph_url, **env):
    return start_worker(
        LEADRELAY_SOURCES=meta_app.extensions["leadrelay"].settings.sources_path,
        META_GRAPH_API_URL=graph_url,
        **ENV,
        **env,
    )


def test_subscription_check_echoes_the_challenge(meta_app):
    client = meta_app.test_client()
    ok = client.get("/v1/leads/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444")
    assert ok.status_code == 200
    assert ok.data == b"1158201444"
    wrong = client.get("/v1/leads/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
    assert wrong.status_code == 403


def test_notification_of_two_leads_delivers_both(meta_app, graph, admin_headers, sandbox, start_worker):
    standin, url = graph
    standin.leads["L1"] = payloads.meta_graph_lead("L1", "+14155550171")
    standin.leads["L2"] = payloads.meta_graph_lead("L2", "+14155550172")
    client = meta_app.test_client()
    response = notify(client, "L1", "L2")
    assert response.status_code == 200  # Meta expects a 200
    leads = response.get_json()["leads"]
    assert [x["leadgen_id"] for x in leads] == ["L1", "L2"]
    start_meta_worker(start_worker, meta_app, url)
    for item in leads:
        record = final(client, admin_headers, item["lead_id"])
        assert record["status"] == "delivered", record
        assert [a["request"] for a in record["attempts"]] == ["graph_fetch", "lookup", "create"]
        assert record["fetched"]["id"] == item["leadgen_id"]
    phones = sorted(c["phoneNumber"] for c in contacts(sandbox))
    assert phones == ["14155550171", "14155550172"]
    assert contacts(sandbox)[0]["customFields"] == {"Service": "Orbital"}
    assert set(standin.tokens_seen) == {f"Bearer {PAGE_TOKEN}"}


def test_repeated_notification_is_a_duplicate(meta_app):
    client = meta_app.test_client()
    first = notify(client, "L9").get_json()["leads"][0]
    again = notify(client, "L9").get_json()["leads"][0]
    assert again["duplicate"] is True
    assert again["lead_id"] == first["lead_id"]


def test_graph_outage_is_retried_then_delivered(meta_app, graph, admin_headers, sandbox, start_worker):
    standin, url = graph
    standin.leads["L3"] = payloads.meta_graph_lead("L3")
    standin.fail_with = 503
    client = meta_app.test_client()
    lead_id = notify(client, "L3").get_json()["leads"][0]["lead_id"]
    start_meta_worker(start_worker, meta_app, url)
    from tests.conftest import wait_for

    wait_for(lambda: lead(client, admin_headers, lead_id).get("attempt_count", 0) >= 1)
    standin.fail_with = None
    assert final(client, admin_headers, lead_id)["status"] == "delivered"


def test_unknown_lead_at_graph_is_a_dead_letter(meta_app, graph, admin_headers, start_worker):
    _, url = graph
    client = meta_app.test_client()
    lead_id = notify(client, "missing").get_json()["leads"][0]["lead_id"]
    start_meta_worker(start_worker, meta_app, url)
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "dead"
    assert record["attempts"][0]["status"] == 400


def test_notification_without_leads_is_422(meta_app):
    body = json.dumps({"object": "page", "entry": [{"changes": [{"field": "feed", "value": {}}]}]}).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = meta_app.test_client().post(
        "/v1/leads/meta",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )
    assert response.status_code == 422
