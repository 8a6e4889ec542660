"""Intake: what a sender sees for good and bad leads, and what lands in Redis."""

from __future__ import annotations

import json

from rq import Queue
from rq.serializers import JSONSerializer

from service.keys import DEAD_INDEX, lead_key
from tests.conftest import nothing_stored

FORM = "application/x-www-form-urlencoded"


def queued_lead_ids(redis) -> list[str]:
    """Return the lead ids of the jobs waiting on the delivery queue."""
    queue = Queue("leadrelay", connection=redis, serializer=JSONSerializer)
    return [job.args[0] for job in queue.get_jobs()]


def test_form_lead_is_stored_and_queued_with_normalised_phone(client, redis, admin_headers):
    response = client.post(
        "/v1/leads/website",
        data={
            "name": "Ada Lovelace",
            "phone": "(415) 555-0100",
            "email": "ada@example.com",
            "interest": "Pricing",
        },
    )
    assert response.status_code == 202
    lead_id = response.get_json()["lead_id"]
    assert response.get_json()["status"] == "queued"
    assert queued_lead_ids(redis) == [lead_id]

    shown = client.get(f"/v1/leads/{lead_id}", headers=admin_headers).get_json()
    assert shown["status"] == "queued"
    assert shown["source"] == "website"
    assert shown["contact"] == {
        "source": "whatsapp",
        "identifier": "14155550100",
        "name": "Ada Lovelace",
        "tags": ["Website"],
        "custom_fields": {"Email": "ada@example.com", "Interest": "Pricing"},
    }
    assert shown["received_at"].endswith("Z")


def test_job_carries_only_the_lead_id(client, redis):
    lead_id = client.post("/v1/leads/website", data={"name": "A B", "phone": "+14155550100"}).get_json()[
        "lead_id"
    ]
    job = Queue("leadrelay", connection=redis, serializer=JSONSerializer).get_jobs()[0]
    assert job.args == [lead_id] or job.args == (lead_id,)
    assert job.kwargs == {}


def test_json_source_with_nested_mapping_and_first_last_name(client, admin_headers):
    body = {"contact": {"first": "Grace", "last": "Hopper", "mobile": 15105550123}, "plan": "pro"}
    response = client.post("/v1/leads/zapier", json=body, headers={"X-Api-Key": "zap-secret-1"})
    assert response.status_code == 202, response.get_json()
    shown = client.get(f"/v1/leads/{response.get_json()['lead_id']}", headers=admin_headers).get_json()
    assert shown["contact"]["name"] == "Grace Hopper"
    assert shown["contact"]["identifier"] == "15105550123"
    assert shown["contact"]["assigned_user"] == "sales@example.com"
    assert shown["contact"]["tags"] == ["Zapier"]


def test_api_key_accepted_from_bearer_query_and_rotated_secret(client):
    body = {"contact": {"first": "A", "last": "B", "mobile": "+14155550100"}}
    assert (
        client.post(
            "/v1/leads/zapier", json=body, headers={"Authorization": "Bearer zap-secret-2"}
        ).status_code
        == 202
    )
    other = {"contact": {"first": "C", "last": "D", "mobile": "+14155550101"}}
    assert client.post("/v1/leads/zapier?key=zap-secret-1", json=other).status_code == 202


def test_failed_auth_is_401_and_stores_nothing(client, redis):
    body = {"contact": {"first": "A", "last": "B", "mobile": "+14155550100"}}
    missing = client.post("/v1/leads/zapier", json=body)
    wrong = client.post("/v1/leads/zapier", json=body, headers={"X-Api-Key": "zap-secret-3"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.mimetype == "application/problem+json"
    assert "API key" in missing.get_json()["detail"]
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="leadrelay"'
    assert nothing_stored(redis)


def test_unknown_source_is_404_problem(client):
    response = client.post("/v1/leads/nope", json={})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404
    assert "nope" in response.get_json()["detail"]


def test_unsupported_content_type_is_415(client, redis):
    response = client.post("/v1/leads/website", data="name=a", content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in response.get_json()["detail"]
    assert nothing_stored(redis)


def test_unknown_charset_is_415(client):
    response = client.post("/v1/leads/website", data=b"name=a", content_type=f"{FORM}; charset=klingon")
    assert response.status_code == 415
    assert "klingon" in response.get_json()["detail"]


def test_body_over_limit_is_413(make_app, redis):
    client = make_app(max_body_bytes=1024).test_client()
    response = client.post("/v1/leads/website", data={"name": "x" * 5000, "phone": "+14155550100"})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert nothing_stored(redis)


def test_malformed_json_is_400_with_position(client, redis):
    response = client.post(
        "/v1/leads/zapier",
        data=b'{"contact": {"first": "A",}',
        content_type="application/json",
        headers={"X-Api-Key": "zap-secret-1"},
    )
    assert response.status_code == 400
    assert "line 1 column" in response.get_json()["detail"]
    assert nothing_stored(redis)


def test_json_that_is_not_an_object_is_400(client):
    response = client.post("/v1/leads/zapier", json=[1, 2], headers={"X-Api-Key": "zap-secret-1"})
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["detail"]


def test_invalid_utf8_is_400(client):
    response = client.post("/v1/leads/website", data=b"name=\xff\xfe&phone=1", content_type=FORM)
    assert response.status_code == 400
    assert "utf-8" in response.get_json()["detail"]


def test_invalid_lead_is_422_listing_every_field_and_kept_as_rejected(client, redis, admin_headers):
    response = client.post("/v1/leads/website", data={"phone": "12345", "email": "x@example.com"})
    assert response.status_code == 422
    problem = response.get_json()
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"name", "phone"}
    assert any("not a valid phone number" in e["reason"] for e in problem["errors"])
    assert queued_lead_ids(redis) == []
    record = client.get(f"/v1/leads/{problem['lead_id']}", headers=admin_headers).get_json()
    assert record["status"] == "rejected"
    assert "phone=12345" in record["payload"]
    assert redis.zscore(DEAD_INDEX, problem["lead_id"]) is not None


def test_missing_phone_is_named(client):
    response = client.post("/v1/leads/website", data={"name": "Ada"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "phone", "reason": "Missing phone number."}]


def test_multipart_form_is_accepted(client, admin_headers):
    response = client.post(
        "/v1/leads/website",
        data={"name": "Ada", "phone": "+442079460958"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202
    shown = client.get(f"/v1/leads/{response.get_json()['lead_id']}", headers=admin_headers).get_json()
    assert shown["contact"]["identifier"] == "442079460958"


def test_lead_record_expires_after_retention(client, redis):
    lead_id = client.post("/v1/leads/website", data={"name": "A", "phone": "+14155550100"}).get_json()[
        "lead_id"
    ]
    assert 29 * 86400 < redis.ttl(lead_key(lead_id)) <= 30 * 86400


def test_admin_lead_view_needs_the_token(client):
    lead_id = client.post("/v1/leads/website", data={"name": "A", "phone": "+14155550100"}).get_json()[
        "lead_id"
    ]
    assert client.get(f"/v1/leads/{lead_id}").status_code == 401
    assert client.get(f"/v1/leads/{lead_id}", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_admin_unknown_lead_is_404(client, admin_headers):
    assert client.get("/v1/leads/does-not-exist", headers=admin_headers).status_code == 404


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_redis_down_is_503_with_retry_after_never_202(make_app):
    from service.embedded_redis import free_port

    client = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0").test_client()
    response = client.post("/v1/leads/website", data={"name": "A", "phone": "+14155550100"})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.mimetype == "application/problem+json"
    assert client.get("/readyz").status_code == 503


def test_stored_contact_is_json_not_pickle(client, redis):
    lead_id = client.post("/v1/leads/website", data={"name": "A", "phone": "+14155550100"}).get_json()[
        "lead_id"
    ]
    assert json.loads(redis.hget(lead_key(lead_id), "contact"))["identifier"] == "14155550100"
