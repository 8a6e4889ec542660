"""Speed to lead: a WhatsApp welcome template and an agent for every new lead, never twice."""

from __future__ import annotations

import collections
import re

import requests

from tests.conftest import ADMIN_TOKEN, wait_for
from tests.helpers import configure, contacts, final, lead

SOURCES = """
[defaults]
default_region = "US"
channel_uuid = "chan-whatsapp"

[sources.website]
preset = "form"
auth = "none"
tags = ["Website"]
[sources.website.welcome]
template_uuid = "tpl-welcome"
values = ["{first_name|there}", "{interest|our offer}"]
consent_field = "whatsapp_ok"
[sources.website.assign]
users = ["ana@example.com", "ben@example.com", "cai@example.com"]

[sources.team]
preset = "form"
auth = "none"
[sources.team.welcome]
template_uuid = "tpl-welcome"
values = ["{first_name}"]
consent = "assumed"
[sources.team.assign]
team_uuid = "sales"
"""
USERS = ["ana@example.com", "ben@example.com", "cai@example.com"]


def messages(sandbox):
    return requests.get(f"{sandbox}/_sandbox/messages", timeout=5).json()["messages"]


def post(client, name, phone, source="website", **extra):
    data = {"name": name, "phone": phone, "whatsapp_ok": "yes", **extra}
    response = client.post(f"/v1/leads/{source}", data=data)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["lead_id"]


def welcomed(client, admin_headers, lead_id):
    """Wait until the lead's welcome has an outcome; return the lead."""
    return wait_for(
        lambda: (
            (r := lead(client, admin_headers, lead_id)).get("welcome") not in (None, "due", "sending") and r
        )
    )


def console_page(client, path):
    """A console page as a signed-in operator sees it."""
    form = client.get("/console/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/console/signin", data={"token": ADMIN_TOKEN, "csrf_token": csrf})
    return client.get(path).get_data(as_text=True)


def setup(make_app, sandbox, start_worker, tmp_path, processes=1):
    configure(sandbox, users=USERS)
    client = make_app(SOURCES).test_client()
    args = ("--processes", str(processes)) if processes > 1 else ()
    start_worker(*args, LEADRELAY_SOURCES=str(tmp_path / "sources.toml"))
    return client


def test_a_new_contact_gets_the_welcome_once_with_its_values(
    make_app, admin_headers, sandbox, start_worker, tmp_path
):
    client = setup(make_app, sandbox, start_worker, tmp_path)
    first = welcomed(
        client, admin_headers, post(client, "Ada Lovelace", "+1 415 555 0100", interest="Pricing")
    )
    assert first["welcome"] == "accepted" and first["welcome_uuid"]
    [message] = messages(sandbox)
    assert message["to"] == "14155550100"
    assert message["template_uuid"] == "tpl-welcome" and message["channel_uuid"] == "chan-whatsapp"
    assert message["template_values"] == ["Ada", "Pricing"]
    assert message["optin_contact"] is True
    assert message["assigned_user"] == first["assigned_user"] == contacts(sandbox)[0]["assignedUser"]

    again = welcomed(client, admin_headers, post(client, "Ada L.", "+1 415 555 0100", interest="Demo"))
    assert again["welcome"] == "skipped" and "returning contact" in again["welcome_reason"]
    no_consent = post(client, "Bo Bright", "+1 415 555 0101", whatsapp_ok="")
    assert welcomed(client, admin_headers, no_consent)["welcome"] == "skipped"
    no_interest = welcomed(client, admin_headers, post(client, "Cy", "+1 415 555 0102"))
    assert no_interest["welcome"] == "accepted"
    assert len(messages(sandbox)) == 2  # Ada once, Cy once (with the fallback for the missing answer)
    assert messages(sandbox)[1]["template_values"] == ["Cy", "our offer"]
    metrics = client.get("/metrics").text
    assert 'leadrelay_welcomes_total{outcome="accepted"} 2.0' in metrics
    assert "leadrelay_speed_to_lead_seconds_count 2.0" in metrics
    overview = console_page(client, "/console/")
    speed = re.search(r'id="speed-to-lead">([^<]+)<', overview).group(1)
    assert speed.startswith("p50 ≤ ") and "p95 ≤ " in speed  # two welcomes measured
    # Two leads, one returning, one without consent, one more: look-ups, creates, updates, 2 messages.
    assert int(re.search(r'id="callbell-requests">(\d+)<', overview).group(1)) >= 10


def test_thirty_leads_take_turns_over_three_agents_across_processes(
    make_app, admin_headers, sandbox, start_worker, tmp_path
):
    client = setup(make_app, sandbox, start_worker, tmp_path, processes=3)
    ids = [post(client, f"Lead {n}", f"+1 415 555 {n:04d}") for n in range(200, 230)]
    for lead_id in ids:
        assert final(client, admin_headers, lead_id)["status"] == "delivered"
    assert collections.Counter(c["assignedUser"] for c in contacts(sandbox)) == {u: 10 for u in USERS}
    wait_for(lambda: len(messages(sandbox)) == 30)
    assert {m["to"]: m["assigned_user"] for m in messages(sandbox)} == {
        c["phoneNumber"]: c["assignedUser"] for c in contacts(sandbox)
    }


def test_only_available_team_members_get_leads(make_app, admin_headers, sandbox, start_worker, tmp_path):
    configure(
        sandbox,
        teams={
            "sales": [
                {"email": "ana@example.com", "status": "available"},
                {"email": "ben@example.com", "status": "away"},
            ]
        },
    )
    client = setup(make_app, sandbox, start_worker, tmp_path)
    ids = [post(client, f"Team {n}", f"+1 415 555 03{n:02d}", source="team") for n in range(4)]
    for lead_id in ids:
        assert welcomed(client, admin_headers, lead_id)["assigned_user"] == "ana@example.com"


def test_a_welcome_that_may_have_been_sent_is_not_sent_again(
    make_app, admin_headers, sandbox, start_worker, tmp_path
):
    client = setup(make_app, sandbox, start_worker, tmp_path)
    # Callbell takes the message, then answers too late for the worker (read timeout 1 s).
    configure(sandbox, fault_paths=["/messages"], timeout_rate=1.0, hold_seconds=2)
    record = welcomed(client, admin_headers, post(client, "Tim Out", "+1 415 555 0400"))
    assert record["welcome"] == "unknown" and "may have been sent" in record["welcome_reason"]
    assert len(messages(sandbox)) == 1  # it reached Callbell once, and was not repeated
    assert [a["request"] for a in record["attempts"]][-1] == "welcome"
    assert 'leadrelay_welcomes_total{outcome="unknown"} 1.0' in client.get("/metrics").text
    page = console_page(client, f"/console/leads/{record['id']}")
    assert "welcome message: unknown" in page and "check the conversation in Callbell" in page
    assert "1 welcome message(s) in 24 h may or may not have been sent" in console_page(client, "/console/")
    assert record["id"] in console_page(client, "/console/leads?welcome=unknown")  # listed for a person


def test_a_refused_welcome_is_failed_and_visible(make_app, admin_headers, sandbox, start_worker, tmp_path):
    client = setup(make_app, sandbox, start_worker, tmp_path)
    configure(sandbox, templates=[])  # the template was deleted in Callbell
    record = welcomed(client, admin_headers, post(client, "No Template", "+1 415 555 0500"))
    assert record["status"] == "delivered"  # the contact is there; the welcome failed
    assert record["welcome"] == "failed" and "unknown template" in record["welcome_reason"]
    assert messages(sandbox) == []


def test_callbell_reports_the_welcome_status_by_signed_webhook(worker_env, sandbox, start_worker, tmp_path):
    from service.embedded_redis import free_port
    from tests import procs

    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)
    port = free_port()
    env = {**worker_env, "LEADRELAY_SOURCES": str(sources), "LEADRELAY_ADMIN_TOKEN": ADMIN_TOKEN}
    env["CALLBELL_WEBHOOK_SECRET"] = "hook-secret-1"
    api = procs.start(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env, tmp_path / "api.log"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        procs.wait_http(f"{base}/readyz", api)
        start_worker(LEADRELAY_SOURCES=str(sources))
        configure(
            sandbox, users=USERS, webhook_url=f"{base}/v1/callbell/events", webhook_secret="hook-secret-1"
        )
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

        def status_of(lead_id):
            return (
                requests.get(f"{base}/v1/leads/{lead_id}", headers=admin, timeout=5)
                .json()
                .get("welcome_status")
            )

        data = {"name": "Ann Hook", "phone": "+1 415 555 0600", "whatsapp_ok": "yes"}
        delivered = requests.post(f"{base}/v1/leads/website", data=data, timeout=5).json()["lead_id"]
        wait_for(lambda: status_of(delivered) == "delivered")
        configure(sandbox, message_outcome="failed")
        data = {"name": "Fay Hook", "phone": "+1 415 555 0601", "whatsapp_ok": "yes"}
        failed = requests.post(f"{base}/v1/leads/website", data=data, timeout=5).json()["lead_id"]
        wait_for(lambda: status_of(failed) == "failed")
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert 'leadrelay_welcome_statuses_total{status="failed"} 1.0' in metrics
        forged = requests.post(
            f"{base}/v1/callbell/events",
            json={"event": "message_status_updated", "payload": {"uuid": "x", "status": "read"}},
            headers={"X-Callbell-Signature": "t=1,v1=00"},
            timeout=5,
        )
        assert forged.status_code == 401 and forged.headers["Content-Type"] == "application/problem+json"
    finally:
        procs.stop(api)


def test_callbell_webhooks_are_off_without_a_signing_secret(client):
    answer = client.post("/v1/callbell/events", json={"event": "message_status_updated"})
    assert answer.status_code == 404
    assert "CALLBELL_WEBHOOK_SECRET" in answer.get_json()["detail"]


def test_a_welcome_whose_job_was_lost_is_sent_by_the_sweep(
    make_app, admin_headers, sandbox, start_worker, tmp_path, redis
):
    from service.keys import WELCOME_PENDING, lead_key

    client = setup(make_app, sandbox, start_worker, tmp_path)
    requests.post(  # a returning contact: its lead's welcome is skipped, and no welcome job is left
        f"{sandbox}/v1/contacts",
        json={"identifier": "14155550700", "source": "whatsapp", "name": "Lo"},
        timeout=5,
    )
    lead_id = post(client, "Lost Job", "+1 415 555 0700")
    assert welcomed(client, admin_headers, lead_id)["welcome"] == "skipped"
    # What a lost job leaves: a welcome due long ago, nothing queued to send it.
    redis.hset(lead_key(lead_id), mapping={"welcome": "due", "contact_created": "1"})
    redis.zadd(WELCOME_PENDING, {lead_id: 1})
    assert welcomed(client, admin_headers, lead_id)["welcome"] == "accepted"
    assert [m["to"] for m in messages(sandbox)] == ["14155550700"]
    assert redis.zscore(WELCOME_PENDING, lead_id) is None


def test_a_returning_contact_keeps_its_agent_and_look_ups_name_the_channel(
    make_app, admin_headers, sandbox, start_worker, tmp_path
):
    client = setup(make_app, sandbox, start_worker, tmp_path)
    requests.post(
        f"{sandbox}/v1/contacts",
        json={"identifier": "14155550800", "source": "whatsapp", "name": "Kept", "assigned_user": USERS[2]},
        timeout=5,
    )
    kept = final(client, admin_headers, post(client, "Kept Agent", "+1 415 555 0800"))
    assert kept["assigned_user"] == USERS[2] == contacts(sandbox)[0]["assignedUser"]
    # The look-up passes the channel: a channel the account does not have is refused by Callbell.
    configure(sandbox, channels=[{"uuid": "chan-other", "type": "whatsapp", "active": True}])
    refused = final(client, admin_headers, post(client, "Wrong Channel", "+1 415 555 0801"))
    assert refused["status"] == "dead" and "unknown channel: chan-whatsapp" in refused["reason"]
