"""Erase a person on request: every lead with their phone or email goes, nothing of them is logged."""

from __future__ import annotations

from click.testing import CliRunner

from service.cli import main
from service.keys import lead_key


def post(client, name: str, phone: str, email: str) -> str:
    response = client.post("/v1/leads/website", data={"name": name, "phone": phone, "email": email})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["lead_id"]


def test_the_admin_api_erases_every_lead_of_a_person_and_no_other(client, admin_headers, redis):
    theirs = [post(client, "Grace Hopper", f"+1 415 555 01{n}0", "grace@example.com") for n in range(2)]
    other = post(client, "Someone Else", "+1 415 555 0199", "someone@example.com")
    answer = client.post("/v1/erasures", json={"email": "Grace@Example.com"}, headers=admin_headers)
    assert answer.status_code == 200
    assert answer.get_json() == {"erased": 2, "lead_ids": sorted(theirs)}
    assert not any(redis.exists(lead_key(i)) for i in theirs)
    assert redis.exists(lead_key(other))
    assert (
        client.post("/v1/erasures", json={"phone": "not a phone"}, headers=admin_headers).status_code == 422
    )
    assert client.post("/v1/erasures", json={}, headers=admin_headers).status_code == 400
    assert client.post("/v1/erasures", json={"email": "x@example.com"}).status_code == 401


def test_a_rejected_lead_is_erased_with_the_rest_of_the_person(client, admin_headers, redis):
    kept = post(client, "Grace Hopper", "+1 415 555 0150", "grace@example.com")
    rejected = client.post(
        "/v1/leads/website", data={"name": "Grace", "phone": "12", "email": "grace@example.com"}
    )
    assert rejected.status_code == 422  # kept as a dead letter, with her email in it
    rejected_id = rejected.get_json()["lead_id"]
    answer = client.post("/v1/erasures", json={"email": "grace@example.com"}, headers=admin_headers)
    assert answer.get_json() == {"erased": 2, "lead_ids": sorted([kept, rejected_id])}
    assert not redis.exists(lead_key(rejected_id))


def test_the_command_erases_by_a_phone_written_another_way(
    make_app, redis_server, monkeypatch, write_sources
):
    app = make_app()
    client = app.test_client()
    lead_id = post(client, "Grace Hopper", "+1 415 555 0177", "grace@example.com")
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    result = CliRunner().invoke(main, ["erase", "--phone", "(415) 555-0177", "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 lead(s) erased" in result.output
    assert app.extensions["leadrelay"].store.get(lead_id) is None
