"""Each preset finds name, phone and email in its sender's real payload shape, through the intake API."""

from __future__ import annotations

import pytest

from tests import payloads


@pytest.fixture
def client(make_app):
    return make_app(payloads.PRESET_SOURCES).test_client()


def contact_of(client, admin_headers, response):
    assert response.status_code == 202, response.get_json()
    return client.get(f"/v1/leads/{response.get_json()['lead_id']}", headers=admin_headers).get_json()[
        "contact"
    ]


def test_typeform_reads_answers_by_ref_choices_as_tags_and_hidden_fields(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/typeform", json=payloads.typeform()))
    assert contact["name"] == "Ada Lovelace"
    assert contact["identifier"] == "14155550100"
    assert contact["tags"] == ["Pro", "Sales", "Support"]
    assert contact["custom_fields"] == {
        "Email": "ada@example.com",
        "Team size": "42",
        "Newsletter": "true",
        "UTM source": "newsletter",
    }


def test_google_ads_columns_and_custom_questions(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/google", json=payloads.google_ads()))
    assert contact["name"] == "Grace Hopper"
    assert contact["identifier"] == "15105550123"
    assert contact["custom_fields"] == {"Email": "grace@example.com", "Budget": "10k"}


def test_google_ads_test_lead_is_recorded_not_delivered_by_default(client, admin_headers, redis):
    response = client.post("/v1/leads/google", json=payloads.google_ads(is_test=True))
    assert response.status_code == 202
    record = client.get(f"/v1/leads/{response.get_json()['lead_id']}", headers=admin_headers).get_json()
    assert record["status"] == "skipped"
    assert redis.llen("rq:queue:leadrelay") == 0


def test_google_ads_test_lead_can_be_tagged_or_delivered(client, admin_headers, redis):
    tagged = contact_of(
        client, admin_headers, client.post("/v1/leads/google_tagged", json=payloads.google_ads(is_test=True))
    )
    assert "Test" in tagged["tags"]
    delivered = contact_of(
        client,
        admin_headers,
        client.post("/v1/leads/google_delivered", json=payloads.google_ads(is_test=True)),
    )
    assert "Test" not in delivered["tags"]
    assert redis.llen("rq:queue:leadrelay") == 2


def test_webflow_label_keyed_fields_and_numeric_phone(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/webflow", json=payloads.webflow()))
    assert contact["name"] == "Dorothy Vaughan"
    assert contact["identifier"] == "14155550155"
    assert contact["note"] == "Call me after 5"
    assert contact["custom_fields"] == {"Email": "dv@example.com"}


def test_tally_option_ids_become_labels(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/tally", json=payloads.tally()))
    assert contact["name"] == "Mary Jackson"
    assert contact["identifier"] == "14155550166"
    assert contact["tags"] == ["Wind tunnel"]
    assert contact["custom_fields"] == {"UTM source": "ads"}


def test_unbounce_values_in_arrays_inside_form_encoded_json(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/unbounce", data=payloads.unbounce()))
    assert contact["name"] == "Annie Easley"
    assert contact["identifier"] == "14155550188"
    assert contact["custom_fields"] == {"Interest": "Energy, Batteries", "Page": "https://example.com/lp"}


def test_unbounce_with_broken_data_json_is_400(client):
    response = client.post("/v1/leads/unbounce", data={"data.json": "{not json"})
    assert response.status_code == 400
    assert "data.json" in response.get_json()["detail"]


@pytest.mark.parametrize("payload", [payloads.elementor_advanced(), payloads.elementor_simple()])
def test_elementor_advanced_and_simple_modes(client, admin_headers, payload):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/elementor", data=payload))
    assert contact["name"] == "Christine Darden"
    assert contact["identifier"] == "14155550199"
    assert contact["custom_fields"] == {"Email": "cd@example.com"}


def test_jotform_multipart_with_name_and_phone_objects(client, admin_headers):
    response = client.post("/v1/leads/jotform", data=payloads.jotform(), content_type="multipart/form-data")
    contact = contact_of(client, admin_headers, response)
    assert contact["name"] == "Evelyn Boyd"
    assert contact["identifier"] == "14155550111"
    assert contact["custom_fields"] == {"Message": "Interested in a demo"}


def test_contact_form_7_tag_names(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/cf7", json=payloads.cf7()))
    assert contact["name"] == "Melba Mouton"
    assert contact["identifier"] == "14155550122"
    assert contact["note"] == "Hello"
    assert contact["custom_fields"] == {"Subject": "Pricing"}


def test_gravity_forms_field_ids_and_name_parts(client, admin_headers):
    contact = contact_of(
        client, admin_headers, client.post("/v1/leads/gravity", json=payloads.gravity_forms())
    )
    assert contact["name"] == "Gladys West"
    assert contact["identifier"] == "14155550133"
    assert contact["custom_fields"] == {"Email": "gw@example.com", "Product": "GPS"}


def test_hubspot_properties_with_value_objects_and_mobilephone(client, admin_headers):
    contact = contact_of(client, admin_headers, client.post("/v1/leads/hubspot", json=payloads.hubspot()))
    assert contact["name"] == "Hedy Lamarr"
    assert contact["identifier"] == "14155550144"
    assert contact["custom_fields"] == {"Company": "Inventions"}


def test_missing_keys_and_wrong_types_are_a_422_not_a_crash(client):
    broken = {
        "form_response": {"answers": [{"type": "text"}, "junk", {"type": "phone_number", "phone_number": 5}]}
    }
    response = client.post("/v1/leads/typeform", json=broken)
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"name", "phone"}
