"""Bad input of every kind gets a 4xx problem+json, never a 5xx, and nothing is half-stored."""

from __future__ import annotations

import json
import socket

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.embedded_redis import free_port
from tests import payloads, procs

CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/json; charset=latin-1",
    "application/json; charset=nope",
    "text/plain",
    "",
    "application/xml",
]
PRESET_PAYLOADS = {
    "typeform": payloads.typeform(),
    "google": payloads.google_ads(),
    "webflow": payloads.webflow(),
    "tally": payloads.tally(),
    "cf7": payloads.cf7(),
    "gravity": payloads.gravity_forms(),
    "hubspot": payloads.hubspot(),
}
FORM_PRESET_PAYLOADS = {
    "unbounce": payloads.unbounce(),
    "elementor": payloads.elementor_advanced(),
    "jotform": payloads.jotform(),
}
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def check_invariants(response, redis) -> None:
    """Never a 5xx; errors are problem+json; a 422 keeps one rejected lead; other errors keep none."""
    assert response.status_code < 500, response.get_data(as_text=True)
    leads = redis.keys("leadrelay:lead:*")
    jobs = redis.llen("rq:queue:leadrelay")
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == response.status_code
        assert jobs == 0
        if response.status_code == 422:
            assert len(leads) == 1 and redis.hget(leads[0], "status") == b"rejected"
        else:
            assert leads == []
    elif response.status_code == 202:
        assert len(leads) == 1 and jobs == 1


@pytest.fixture
def preset_client(make_app):
    return make_app(payloads.PRESET_SOURCES).test_client()


@SETTINGS
@given(
    body=st.binary(max_size=400),
    content_type=st.sampled_from(CONTENT_TYPES),
    source=st.sampled_from(["typeform", "unbounce", "jotform", "elementor", "google", "webflow"]),
)
def test_random_bytes_for_every_content_type(preset_client, redis, body, content_type, source):
    redis.flushall()
    response = preset_client.post(f"/v1/leads/{source}", data=body, content_type=content_type)
    check_invariants(response, redis)


@SETTINGS
@given(data=st.data())
def test_preset_payloads_with_any_value_anywhere(preset_client, redis, data):
    redis.flushall()
    source = data.draw(st.sampled_from(sorted(PRESET_PAYLOADS)))
    mutated = _mutate(data, PRESET_PAYLOADS[source])
    response = preset_client.post(f"/v1/leads/{source}", json=mutated)
    check_invariants(response, redis)


@SETTINGS
@given(data=st.data())
def test_form_presets_with_any_text_anywhere(preset_client, redis, data):
    redis.flushall()
    source = data.draw(st.sampled_from(sorted(FORM_PRESET_PAYLOADS)))
    form = {
        k: data.draw(st.one_of(st.just(v), st.text(max_size=40)))
        for k, v in FORM_PRESET_PAYLOADS[source].items()
    }
    response = preset_client.post(f"/v1/leads/{source}", data=form)
    check_invariants(response, redis)


def _mutate(data: st.DataObject, value):  # type: ignore[no-untyped-def]
    """Replace any part of a realistic payload with an arbitrary JSON value, or drop dict keys."""
    if data.draw(st.integers(0, 9)) == 0:
        return data.draw(json_values)
    if isinstance(value, dict):
        return {k: _mutate(data, v) for k, v in value.items() if data.draw(st.integers(0, 12)) != 0}
    if isinstance(value, list):
        return [_mutate(data, v) for v in value]
    return value


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"name": "Ada", "phone": "+1415', "application/json", 400),  # truncated
        (b'{"name": 1, "phone": true}', "application/json", 422),  # wrong types
        (json.dumps({"name": "x" * 300_000, "phone": "+14155550100"}).encode(), "application/json", 413),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),  # deep nesting
        (b'{"name": "Ad\xff", "phone": "+14155550100"}', "application/json", 400),  # invalid UTF-8
        (b"name=Ada&phone=%2B14155550100", "application/x-www-form-urlencoded; charset=utf-99", 415),
        (
            b"name=Ada&name=Bob&phone=%2B14155550100",
            "application/x-www-form-urlencoded",
            202,
        ),  # duplicate keys
        (b"", "application/json", 400),
        (b"", "application/x-www-form-urlencoded", 422),
        (b"--xyz\r\nbroken", "multipart/form-data; boundary=xyz", 400),
        (b"null", "application/json", 400),
    ],
)
def test_known_bad_inputs(client, redis, body, content_type, status):
    response = client.post("/v1/leads/website", data=body, content_type=content_type)
    assert response.status_code == status, response.get_data(as_text=True)
    check_invariants(response, redis)


def test_duplicate_form_keys_keep_every_value(client, admin_headers):
    response = client.post(
        "/v1/leads/website",
        data=b"name=Ada&name=Bob&phone=%2B14155550100&interest=a&interest=b",
        content_type="application/x-www-form-urlencoded",
    )
    record = client.get(f"/v1/leads/{response.get_json()['lead_id']}", headers=admin_headers).get_json()
    assert record["contact"]["custom_fields"]["Interest"] == "a, b"


def test_body_over_the_limit_is_refused_without_reading_it(tmp_path, redis_server, write_sources):
    """A real server answers 413 from the Content-Length alone, before 50 MB could arrive."""
    port = free_port()
    env = {
        "REDIS_URL": redis_server.url,
        "LEADRELAY_SOURCES": write_sources('[sources.web]\npreset = "form"\nauth = "none"\n'),
    }
    server = procs.start(["serve", "--port", str(port), "--workers", "1"], env=env, log=tmp_path / "api.log")
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", server)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/leads/web HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 52428800\r\n\r\n" + b"{" * 1024
            )
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"application/problem+json" in answer
    finally:
        procs.stop(server)


def test_openapi_operations_never_answer_5xx(app, admin_headers):
    """schemathesis generates requests for every documented operation; none may get a server error."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), **admin_headers}
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"

        call()
