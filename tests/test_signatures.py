"""Every verification scheme: a good signature passes; a wrong secret, tampering or expiry is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests import payloads
from tests.conftest import nothing_stored

SECRET = "s3cret-value"
WHSEC = "whsec_" + base64.b64encode(b"standard-webhooks-key").decode()

SOURCES = """
[sources.std]
preset = "json"
auth = "standard_webhooks"
secret_env = "T_STD"
[sources.typeform]
preset = "typeform"
auth = "typeform"
secret_env = "T_SECRET"
[sources.tally]
preset = "tally"
auth = "tally"
secret_env = "T_SECRET"
[sources.webflow]
preset = "webflow"
auth = "webflow"
secret_env = "T_SECRET"
[sources.meta]
preset = "json"
auth = "meta"
secret_env = "T_SECRET"
[sources.google]
preset = "google_ads"
auth = "google_key"
secret_env = "T_SECRET"
[sources.hubspot]
preset = "hubspot"
auth = "hubspot_v3"
secret_env = "T_SECRET"
"""

LEAD = {"name": "Ada Lovelace", "phone": "+14155550100"}


def digest(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def sign_std(body: bytes, secret: str = WHSEC, stamp: float | None = None, msg_id: str = "msg_1") -> dict:
    stamp = str(int(stamp if stamp is not None else time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(digest(key, f"{msg_id}.{stamp}.".encode() + body)).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,bogus v1,{sig}"}


def sign_typeform(body: bytes, secret: str = SECRET, stamp: float | None = None) -> dict:
    return {"Typeform-Signature": "sha256=" + base64.b64encode(digest(secret.encode(), body)).decode()}


def sign_tally(body: bytes, secret: str = SECRET, stamp: float | None = None) -> dict:
    return {"Tally-Signature": base64.b64encode(digest(secret.encode(), body)).decode()}


def sign_webflow(body: bytes, secret: str = SECRET, stamp: float | None = None) -> dict:
    ms = str(int((stamp if stamp is not None else time.time()) * 1000))
    return {
        "x-webflow-timestamp": ms,
        "x-webflow-signature": digest(secret.encode(), f"{ms}:".encode() + body).hex(),
    }


def sign_meta(body: bytes, secret: str = SECRET, stamp: float | None = None) -> dict:
    return {"X-Hub-Signature-256": "sha256=" + digest(secret.encode(), body).hex()}


def sign_hubspot(
    body: bytes,
    secret: str = SECRET,
    stamp: float | None = None,
    url: str = "http://localhost/v1/leads/hubspot",
) -> dict:
    ms = str(int((stamp if stamp is not None else time.time()) * 1000))
    sig = base64.b64encode(digest(secret.encode(), b"POST" + url.encode() + body + ms.encode())).decode()
    return {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ms}


SCHEMES = {
    "std": (sign_std, LEAD, WHSEC, True),
    "typeform": (sign_typeform, payloads.typeform(), SECRET, False),
    "tally": (sign_tally, payloads.tally(), SECRET, False),
    "webflow": (sign_webflow, payloads.webflow(), SECRET, True),
    "meta": (sign_meta, LEAD, SECRET, False),
    "hubspot": (sign_hubspot, payloads.hubspot(), SECRET, True),
}


@pytest.fixture
def client(make_app, monkeypatch):
    monkeypatch.setenv("T_SECRET", f"old-secret {SECRET}")  # two secrets: a rotation in progress
    monkeypatch.setenv("T_STD", WHSEC)
    return make_app(SOURCES).test_client()


def post(client, source, body: bytes, headers: dict):
    return client.post(
        f"/v1/leads/{source}", data=body, headers={**headers, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("source", SCHEMES)
def test_good_signature_is_accepted(client, source):
    sign, payload, _, _ = SCHEMES[source]
    body = json.dumps(payload).encode()
    response = post(client, source, body, sign(body))
    assert response.status_code == 202, response.get_json()


@pytest.mark.parametrize("source", SCHEMES)
def test_wrong_secret_is_401_and_nothing_stored(client, redis, source):
    sign, payload, _, _ = SCHEMES[source]
    body = json.dumps(payload).encode()
    wrong = "whsec_" + base64.b64encode(b"another-key").decode() if source == "std" else "not-the-secret"
    response = post(client, source, body, sign(body, secret=wrong))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert nothing_stored(redis)


@pytest.mark.parametrize("source", SCHEMES)
def test_tampered_body_is_401(client, redis, source):
    sign, payload, secret, _ = SCHEMES[source]
    body = json.dumps(payload).encode()
    headers = sign(body, secret=secret)
    # One added space: the same JSON once parsed, different bytes, so the signature must fail.
    response = post(client, source, body[:-1] + b" }", headers)
    assert response.status_code == 401
    assert nothing_stored(redis)


@pytest.mark.parametrize("source", SCHEMES)
def test_missing_signature_is_401(client, source):
    assert post(client, source, json.dumps(SCHEMES[source][1]).encode(), {}).status_code == 401


@pytest.mark.parametrize("source", [s for s, spec in SCHEMES.items() if spec[3]])
@pytest.mark.parametrize("offset", [-301, 301])
def test_expired_or_future_timestamp_is_401(client, redis, source, offset):
    sign, payload, secret, _ = SCHEMES[source]
    body = json.dumps(payload).encode()
    response = post(client, source, body, sign(body, secret=secret, stamp=time.time() + offset))
    assert response.status_code == 401
    assert "5 minutes" in response.get_json()["detail"]
    assert nothing_stored(redis)


def test_replayed_standard_webhook_is_acknowledged_not_stored_twice(client, redis):
    body = json.dumps(LEAD).encode()
    headers = sign_std(body, msg_id="msg_replayed")
    first = post(client, "std", body, headers)
    second = post(client, "std", body, headers)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.get_json() == {
        "lead_id": first.get_json()["lead_id"],
        "status": "queued",
        "duplicate": True,
    }
    assert redis.llen("rq:queue:leadrelay") == 1


def test_google_key_good_wrong_and_missing(client, redis, admin_headers):
    good = client.post("/v1/leads/google", json=payloads.google_ads(key=SECRET))
    assert good.status_code == 202
    record = client.get(f"/v1/leads/{good.get_json()['lead_id']}", headers=admin_headers).get_json()
    assert SECRET not in record["payload"]  # the key is not stored with the lead
    assert "google_key" not in record["payload"]
    assert client.post("/v1/leads/google", json=payloads.google_ads(key="wrong")).status_code == 401
    legacy = payloads.google_ads(lead_id="legacy-1")
    legacy["Google_key"] = legacy.pop("google_key").replace("google-form-key", SECRET)
    assert client.post("/v1/leads/google", json=legacy).status_code == 202
    no_key = payloads.google_ads(lead_id="nokey")
    del no_key["google_key"]
    assert client.post("/v1/leads/google", json=no_key).status_code == 401


def test_hubspot_signature_covers_the_url(client):
    body = json.dumps(payloads.hubspot()).encode()
    headers = sign_hubspot(body, url="http://localhost/v1/leads/other-path")
    assert post(client, "hubspot", body, headers).status_code == 401
