"""The contact schema: phones as they really arrive, names, custom fields, identifier formats."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from service.contact import ContactSchema

BASE = {"region": "US", "identifier_format": "digits", "callbell_source": "whatsapp", "name": "Ada"}


def load(**data):
    return ContactSchema().load({**BASE, **data})


@pytest.mark.parametrize(
    ("raw", "region", "identifier"),
    [
        ("+14155550100", "US", "14155550100"),
        ("+1 (415) 555-0100", "US", "14155550100"),
        ("(85) 98769-6383", "BR", "5585987696383"),
        (14155550100, "US", "14155550100"),
        ("404-555-0199", "US", "14045550199"),
        ("+52 999 000 1111", "US", "529990001111"),
        ("0044 20 7946 0958", "US", "442079460958"),
        (" 44 20 7946 0958", "US", "442079460958"),  # a form-encoded "+" arrives as a space
    ],
)
def test_phones_as_they_arrive(raw, region, identifier):
    assert load(phone=raw, region=region)["identifier"] == identifier


def test_e164_identifier_format_keeps_the_plus():
    assert load(phone="415 555 0100", identifier_format="e164")["identifier"] == "+14155550100"


def test_invalid_phone_names_the_value_and_region():
    with pytest.raises(ValidationError) as err:
        load(phone="555-0000-1")
    assert "default region US" in err.value.messages["phone"][0]


def test_name_from_first_and_last():
    data = {**BASE, "name": None}
    assert (
        ContactSchema().load({**data, "first_name": "Ada", "last_name": "Lovelace", "phone": "+14155550100"})[
            "name"
        ]
        == "Ada Lovelace"
    )


def test_blank_name_and_phone_are_both_reported():
    with pytest.raises(ValidationError) as err:
        ContactSchema().load({**BASE, "name": "  ", "phone": ""})
    assert set(err.value.messages) == {"name", "phone"}


def test_custom_field_values_become_strings_and_blanks_are_dropped():
    contact = load(
        phone="+14155550100",
        custom_fields={"Budget": 42, "Ratio": 0.5, "Opt-in": True, "Colours": ["red", "blue"], "Empty": ""},
    )
    assert contact["custom_fields"] == {
        "Budget": "42",
        "Ratio": "0.5",
        "Opt-in": "true",
        "Colours": "red, blue",
    }


def test_note_is_cut_to_callbells_limit_and_tags_deduplicated():
    contact = load(phone="+14155550100", note="x" * 1500, tags=["b", "a", "b"])
    assert len(contact["note"]) == 1000
    assert contact["tags"] == ["a", "b"]


def test_object_where_text_expected_is_a_field_error():
    with pytest.raises(ValidationError) as err:
        load(phone={"full": "(555) 555-5555"})
    assert err.value.messages["phone"] == ["Not a text value."]


def test_every_per_source_contact_setting_reaches_the_contact_request():
    from service.contact_fields import SOURCE_SETTINGS
    from service.mapping import contact_from
    from service.presets.answers import Answers
    from service.sources import parse_sources

    values = {"assigned_user": "sales@example.com", "team_uuid": "team-1", "channel_uuid": "chan-1"}
    assert {f.name for f in SOURCE_SETTINGS} == set(values)  # the declaration names these three
    sources = parse_sources({"sources": {"web": {"preset": "form", "auth": "none", **values}}})
    answers = Answers(values={}, known={"name": "Ada", "phone": "+14155550100", "note": "call after 5"})
    contact = contact_from(sources["web"], answers)
    assert {k: contact[k] for k in values} == values
    assert contact["note"] == "call after 5"


def test_the_api_document_shows_every_field_leadrelay_sends(client):
    from service.contact_fields import SENT

    spec = client.get("/openapi.json").get_json()
    shown = spec["components"]["schemas"]["ContactRequest"]
    assert set(shown["properties"]) == {f.name for f in SENT}
    assert set(shown["required"]) == {"identifier", "source", "name"}
