"""Security: nothing a sender writes can change where leadrelay sends requests."""

from __future__ import annotations

import requests

from tests.helpers import contacts, final

EVIL = "http://127.0.0.1:9/evil"


def test_payload_cannot_change_the_callbell_url(client, admin_headers, sandbox, start_worker):
    start_worker()
    body = {
        "contact": {"first": "Ada", "last": "L", "mobile": "+14155550100"},
        "callbell_api_url": EVIL,
        "CALLBELL_API_URL": EVIL,
        "api_url": EVIL,
        "url": EVIL,
        "base_url": EVIL,
        "graph_api_url": EVIL,
        "redirect_url": EVIL,
        "webhook_url": EVIL,
    }
    response = client.post(
        "/v1/leads/zapier",
        json=body,
        headers={"X-Api-Key": "zap-secret-1", "Host": "evil.example", "X-Forwarded-Host": "evil"},
    )
    assert response.status_code == 202
    record = final(client, admin_headers, response.get_json()["lead_id"])
    assert record["status"] == "delivered"
    assert len(contacts(sandbox)) == 1
    stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=5).json()
    assert stats["requests"]["POST /v1/contacts"] == {"200": 1}
    assert EVIL not in str(record["contact"])


def test_admin_endpoints_refuse_a_token_for_another_purpose(client):
    # A sender's API key is not an admin token, and a token in the query string is not accepted.
    assert client.get("/v1/dead-letters", headers={"Authorization": "Bearer zap-secret-1"}).status_code == 401
    assert client.get("/v1/dead-letters?key=test-admin-token").status_code == 401
