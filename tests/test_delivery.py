"""Delivery over real HTTP to the sandbox, by real worker processes on the private Redis."""

from __future__ import annotations

import zlib

import requests

from service.keys import DEAD_INDEX
from tests.conftest import wait_for
from tests.helpers import LEAD, configure, contacts, final, lead, post_lead


def test_lead_is_delivered_as_a_contact(client, admin_headers, sandbox, start_worker):
    start_worker()
    lead_id = post_lead(client)
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "delivered"
    [contact] = contacts(sandbox)
    assert contact["uuid"] == record["contact_uuid"]
    assert contact["phoneNumber"] == "14155550100"
    assert contact["tags"] == ["Website"]
    assert contact["customFields"] == {"Email": "ada@example.com", "Interest": "Pricing"}
    assert [a["request"] for a in record["attempts"]] == ["lookup", "create"]
    assert [a["status"] for a in record["attempts"]] == [404, 200]
    assert record["delivered_at"] >= record["received_at"]


def test_existing_contact_is_updated_not_duplicated(client, admin_headers, sandbox, start_worker):
    requests.post(
        f"{sandbox}/v1/contacts",
        json={
            "identifier": "14155550100",
            "source": "whatsapp",
            "name": "Ada",
            "tags": ["Old"],
            "custom_fields": {"Budget": "10"},
        },
        timeout=5,
    )
    start_worker()
    record = final(client, admin_headers, post_lead(client))
    assert record["status"] == "delivered"
    [contact] = contacts(sandbox)
    assert contact["tags"] == ["Old", "Website"]
    assert contact["customFields"] == {"Budget": "10", "Email": "ada@example.com", "Interest": "Pricing"}
    assert contact["name"] == "Ada Lovelace"
    assert [a["request"] for a in record["attempts"]] == ["lookup", "update"]


def test_the_same_person_twice_gives_one_contact(client, admin_headers, sandbox, start_worker):
    start_worker()
    first = final(client, admin_headers, post_lead(client))
    second = final(client, admin_headers, post_lead(client, {**LEAD, "interest": "Demo"}))
    assert first["contact_uuid"] == second["contact_uuid"]
    [contact] = contacts(sandbox)
    assert contact["customFields"]["Interest"] == "Demo"


def test_server_errors_are_retried_until_delivered(client, admin_headers, sandbox, start_worker):
    configure(sandbox, error_rate=1.0)
    start_worker()
    lead_id = post_lead(client)
    wait_for(lambda: lead(client, admin_headers, lead_id).get("attempt_count", 0) >= 2)
    retrying = lead(client, admin_headers, lead_id)
    assert retrying["status"] == "retrying"
    assert retrying["attempts"][0]["status"] in (500, 502, 503)
    assert "body" in retrying["attempts"][0]  # the answer is kept for diagnosis
    configure(sandbox, error_rate=0)
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "delivered"
    assert len(contacts(sandbox)) == 1


def test_timeout_after_create_does_not_duplicate_on_retry(client, admin_headers, sandbox, start_worker):
    configure(sandbox, timeout_rate=1.0, hold_seconds=2)
    start_worker()
    lead_id = post_lead(client)
    wait_for(lambda: lead(client, admin_headers, lead_id).get("attempt_count", 0) >= 1)
    configure(sandbox, timeout_rate=0)
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "delivered"
    assert record["attempts"][0]["error"] == "ReadTimeout"
    assert len(contacts(sandbox)) == 1


def test_retries_exhausted_make_a_dead_letter(client, admin_headers, sandbox, start_worker):
    configure(sandbox, error_rate=1.0)
    start_worker()
    lead_id = post_lead(client)
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "dead"
    assert record["attempt_count"] == 4  # the first attempt and the schedule's three retries
    assert "gave up after 4 attempts" in record["reason"]
    assert contacts(sandbox) == []


def test_validation_failure_is_dead_at_once_with_the_answer_kept(
    client, admin_headers, sandbox, start_worker
):
    configure(sandbox, tags=["Known"])
    start_worker()
    record = final(client, admin_headers, post_lead(client))
    assert record["status"] == "dead"
    assert record["attempt_count"] == 1
    assert record["reason"].startswith("permanent failure")
    assert "unknown tags: Website" in record["attempts"][-1]["body"]


def test_auth_failure_is_dead_at_once(client, admin_headers, sandbox, start_worker):
    configure(sandbox, token="the-right-one")
    start_worker(CALLBELL_API_TOKEN="a-wrong-one")
    record = final(client, admin_headers, post_lead(client))
    assert record["status"] == "dead"
    assert record["attempts"][0]["status"] == 401


def test_retry_after_is_honoured(client, admin_headers, sandbox, start_worker):
    configure(sandbox, rps_limit=1, retry_after_seconds=3)
    start_worker()
    lead_id = post_lead(client)
    record = wait_for(lambda: (r := lead(client, admin_headers, lead_id)).get("next_attempt_at") and r)
    assert record["attempts"][-1]["status"] == 429
    from datetime import datetime

    failed_at = record["attempts"][-1]["at"]
    next_at = datetime.fromisoformat(record["next_attempt_at"].replace("Z", "+00:00")).timestamp()
    assert next_at - failed_at >= 2.9  # the schedule alone would have waited about 1 s
    configure(sandbox, rps_limit=300)
    assert final(client, admin_headers, lead_id)["status"] == "delivered"


def test_job_survives_in_redis_with_only_the_lead_id(client, redis):
    lead_id = post_lead(client)
    job_keys = [k for k in redis.keys("rq:job:*") if redis.type(k) == b"hash"]
    assert len(job_keys) == 1
    data = zlib.decompress(redis.hget(job_keys[0], "data"))  # RQ compresses the call data
    assert lead_id.encode() in data
    assert b"Ada" not in data and b"415" not in data  # no personal data or secret in the job


def test_dead_letter_replay_after_fixing_the_account(client, admin_headers, sandbox, start_worker, redis):
    configure(sandbox, tags=["Known"])
    start_worker()
    lead_id = post_lead(client)
    assert final(client, admin_headers, lead_id)["status"] == "dead"
    listed = client.get("/v1/dead-letters?status=dead", headers=admin_headers).get_json()
    assert [d["id"] for d in listed["dead_letters"]] == [lead_id]
    configure(sandbox, tags=["Known", "Website"])
    replayed = client.post(f"/v1/leads/{lead_id}/replay", headers=admin_headers)
    assert replayed.status_code == 202
    record = final(client, admin_headers, lead_id)
    assert record["status"] == "delivered"
    assert redis.zscore(DEAD_INDEX, lead_id) is None
    assert client.get("/v1/dead-letters", headers=admin_headers).get_json()["count"] == 0


def test_rejected_lead_replays_after_fixing_the_mapping(make_app, admin_headers, sandbox, start_worker):
    broken = make_app('[sources.web]\npreset = "form"\nauth = "none"\n').test_client()
    response = broken.post("/v1/leads/web", data={"full": "Ada Lovelace", "mobile_no": "+14155550100"})
    assert response.status_code == 422
    lead_id = response.get_json()["lead_id"]
    fixed = make_app(
        '[sources.web]\npreset = "form"\nauth = "none"\nfields = { name = "full", phone = "mobile_no" }\n'
    )
    client = fixed.test_client()
    start_worker()
    assert (
        client.post("/v1/dead-letters/replay", json={"status": "rejected"}, headers=admin_headers).get_json()[
            "replayed"
        ]
        == 1
    )
    assert final(client, admin_headers, lead_id)["status"] == "delivered"
    assert contacts(sandbox)[0]["name"] == "Ada Lovelace"


def test_replay_of_a_still_invalid_lead_says_why(client, admin_headers):
    lead_id = client.post("/v1/leads/website", data={"name": "Ada"}).get_json()["lead_id"]
    response = client.post(f"/v1/leads/{lead_id}/replay", headers=admin_headers)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "phone"


def test_purge_deletes_dead_letters(client, admin_headers, redis):
    lead_id = client.post("/v1/leads/website", data={"name": "Ada"}).get_json()["lead_id"]
    assert client.delete(f"/v1/leads/{lead_id}", headers=admin_headers).status_code == 204
    assert client.get(f"/v1/leads/{lead_id}", headers=admin_headers).status_code == 404
    assert redis.zcard(DEAD_INDEX) == 0
    assert client.delete(f"/v1/leads/{lead_id}", headers=admin_headers).status_code == 404


def test_dead_letter_endpoints_need_the_admin_token(client):
    assert client.get("/v1/dead-letters").status_code == 401
    assert client.post("/v1/dead-letters/replay", json={}).status_code == 401
    assert client.delete("/v1/leads/x").status_code == 401


def test_attempt_log_holds_no_token(client, admin_headers, sandbox, start_worker, redis):
    configure(sandbox, token="tok-secret-123")
    start_worker(CALLBELL_API_TOKEN="tok-secret-123")
    record = final(client, admin_headers, post_lead(client))
    assert record["status"] == "delivered"
    everything = b"".join(
        b"".join(k + v for k, v in redis.hgetall(key).items())
        for key in redis.keys("*")
        if redis.type(key) == b"hash"
    )
    assert b"tok-secret-123" not in everything


def test_rq_s_own_view_of_finished_deliveries_agrees(client, admin_headers, sandbox, start_worker, redis):
    # Workers record a delivery's end in one transaction of their own; what `rq info` and RQ's
    # dashboards read must still say what RQ itself would: finished, nothing left started, idle.
    from rq import Queue, Worker
    from rq.job import Job

    start_worker()
    lead_ids = [post_lead(client, {**LEAD, "phone": f"+1415555{n:04d}"}) for n in range(3)]
    job_ids = [redis.hget(f"leadrelay:lead:{lead_id}", "job_id").decode() for lead_id in lead_ids]
    for lead_id in lead_ids:
        assert final(client, admin_headers, lead_id)["status"] == "delivered"
    queue = Queue("leadrelay", connection=redis)
    wait_for(lambda: set(queue.finished_job_registry.get_job_ids()) == set(job_ids))
    assert queue.started_job_registry.get_job_ids() == []
    assert {Job.fetch(j, connection=redis).get_status() for j in job_ids} == {"finished"}
    [worker] = Worker.all(connection=redis)
    wait_for(lambda: worker.refresh() or worker.get_state() == "idle")
    assert worker.successful_job_count == 3
