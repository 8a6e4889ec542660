"""The Callbell sandbox over real HTTP: the contacts API as documented, limits and faults."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

CONTACT = {"identifier": "14155550100", "source": "whatsapp", "name": "Ada Lovelace"}


def configure(sandbox: str, **changes) -> dict:
    response = requests.post(f"{sandbox}/_sandbox/config", json=changes, timeout=5)
    response.raise_for_status()
    return response.json()


def test_create_then_look_up_by_phone_and_uuid(sandbox):
    created = requests.post(
        f"{sandbox}/v1/contacts",
        json={**CONTACT, "tags": ["Web"], "custom_fields": {"Email": "a@b.c"}},
        timeout=5,
    )
    assert created.status_code == 200
    contact = created.json()["contact"][0]  # POST answers a one-element array, as documented
    assert contact["phoneNumber"] == "14155550100"
    assert contact["tags"] == ["Web"]
    assert contact["customFields"] == {"Email": "a@b.c"}
    assert set(contact) >= {"uuid", "name", "avatarUrl", "createdAt", "source", "href", "assignedUser"}

    by_phone = requests.get(f"{sandbox}/v1/contacts/phone/+14155550100", timeout=5).json()["contact"]
    assert by_phone["uuid"] == contact["uuid"]  # look-up by phone answers a plain object
    by_uuid = requests.get(f"{sandbox}/v1/contacts/{contact['uuid']}", timeout=5).json()["contact"][0]
    assert by_uuid["name"] == "Ada Lovelace"


def test_missing_required_fields_are_named(sandbox):
    response = requests.post(f"{sandbox}/v1/contacts", json={"source": "whatsapp"}, timeout=5)
    assert response.status_code == 422
    assert response.json()["error"]["missing"] == ["identifier", "name"]


def test_second_post_for_the_same_identifier_says_it_exists(sandbox):
    requests.post(f"{sandbox}/v1/contacts", json=CONTACT, timeout=5)
    again = requests.post(f"{sandbox}/v1/contacts", json={**CONTACT, "identifier": "+14155550100"}, timeout=5)
    assert again.status_code == 422
    assert "already exists" in again.json()["error"]["message"]
    assert len(requests.get(f"{sandbox}/_sandbox/contacts", timeout=5).json()["contacts"]) == 1


def test_duplicate_mode_creates_a_second_contact_for_a_known_phone(sandbox):
    configure(sandbox, duplicate_contacts=True)
    first = requests.post(f"{sandbox}/v1/contacts", json=CONTACT, timeout=5).json()["contact"][0]
    again = requests.post(f"{sandbox}/v1/contacts", json=CONTACT, timeout=5)
    assert again.status_code == 200
    assert again.json()["contact"][0]["uuid"] != first["uuid"]
    assert len(requests.get(f"{sandbox}/_sandbox/contacts", timeout=5).json()["contacts"]) == 2
    found = requests.get(f"{sandbox}/v1/contacts/phone/14155550100", timeout=5).json()["contact"]
    assert found["uuid"] == first["uuid"]  # a look-up finds the first


def test_unknown_tag_field_or_user_is_422_naming_it(sandbox):
    configure(sandbox, tags=["Web"], custom_fields=["Email"], users=["sales@example.com"])
    cases = [
        ({"tags": ["Web", "Promo"]}, "Promo"),
        ({"custom_fields": {"Budget": "1"}}, "Budget"),
        ({"assigned_user": "nobody@example.com"}, "nobody@example.com"),
    ]
    for extra, name in cases:
        response = requests.post(f"{sandbox}/v1/contacts", json={**CONTACT, **extra}, timeout=5)
        assert response.status_code == 422
        assert name in response.json()["error"]["message"]
    ok = requests.post(f"{sandbox}/v1/contacts", json={**CONTACT, "tags": ["Web"]}, timeout=5)
    assert ok.status_code == 200


def test_non_string_custom_field_is_422(sandbox):
    response = requests.post(
        f"{sandbox}/v1/contacts", json={**CONTACT, "custom_fields": {"Age": 42}}, timeout=5
    )
    assert response.status_code == 422


def test_patch_replaces_tags_and_fields_but_not_the_phone(sandbox):
    contact = requests.post(f"{sandbox}/v1/contacts", json={**CONTACT, "tags": ["A"]}, timeout=5).json()[
        "contact"
    ][0]
    url = f"{sandbox}/v1/contacts/{contact['uuid']}"
    patched = requests.patch(
        url, json={"tags": ["B"], "custom_fields": {"X": "1"}, "name": "Ada L."}, timeout=5
    )
    assert patched.status_code == 200
    assert patched.json()["contact"][0]["tags"] == ["B"]
    assert patched.json()["contact"][0]["name"] == "Ada L."
    assert requests.patch(url, json={"identifier": "1"}, timeout=5).status_code == 422
    assert requests.patch(f"{sandbox}/v1/contacts/nope", json={"name": "x"}, timeout=5).status_code == 404


def test_unknown_phone_is_404(sandbox):
    assert requests.get(f"{sandbox}/v1/contacts/phone/19999999999", timeout=5).status_code == 404


def test_token_required_when_set(sandbox):
    configure(sandbox, token="s3cret")
    assert requests.get(f"{sandbox}/v1/auth/me", timeout=5).status_code == 401
    me = requests.get(f"{sandbox}/v1/auth/me", headers={"Authorization": "Bearer s3cret"}, timeout=5)
    assert me.status_code == 200


def test_json_only(sandbox):
    assert requests.post(f"{sandbox}/v1/contacts", data="name=x", timeout=5).status_code == 415
    bad = requests.post(
        f"{sandbox}/v1/contacts", data="{bad", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert bad.status_code == 400


def test_rate_limit_answers_429_past_the_limit_in_one_second(sandbox):
    configure(sandbox, rps_limit=20)
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: requests.get(f"{sandbox}/v1/auth/me", timeout=5).status_code, range(40))
        )
    assert codes.count(200) == 20
    assert codes.count(429) == 20
    stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()
    assert stats["rate_limited"] == 20
    assert stats["peak_requests_per_second"] == 20
    assert stats["requests"]["GET /v1/auth/me"] == {"200": 20, "429": 20}


def test_error_rate_answers_5xx(sandbox):
    configure(sandbox, error_rate=1.0)
    codes = {requests.get(f"{sandbox}/v1/auth/me", timeout=5).status_code for _ in range(15)}
    assert codes <= {500, 502, 503}
    assert len(codes) >= 2


def test_timeout_rate_holds_the_answer_past_a_client_timeout(sandbox):
    configure(sandbox, timeout_rate=1.0, hold_seconds=2)
    with pytest.raises(requests.Timeout):
        requests.post(f"{sandbox}/v1/contacts", json=CONTACT, timeout=0.5)
    configure(sandbox, timeout_rate=0)
    time.sleep(2)
    # The request was processed even though the client gave up: the contact exists.
    assert requests.get(f"{sandbox}/v1/contacts/phone/14155550100", timeout=5).status_code == 200


def test_latency_is_added_and_requests_overlap(sandbox):
    configure(sandbox, latency_ms=300)
    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        codes = list(
            pool.map(lambda _: requests.get(f"{sandbox}/v1/auth/me", timeout=5).status_code, range(10))
        )
    elapsed = time.monotonic() - started
    assert codes == [200] * 10
    assert 0.3 <= elapsed < 2.0  # ten 300 ms answers served side by side, not one after another


def test_bad_config_is_rejected(sandbox):
    response = requests.post(f"{sandbox}/_sandbox/config", json={"error_rate": 2}, timeout=5)
    assert response.status_code == 422
    assert "error_rate" in response.json()["error"]["fields"]
