"""Turn a preset's answers into the input of the contact schema, following the source's mapping."""

from __future__ import annotations

from typing import Any

from service.contact import ContactSchema
from service.contact_fields import ANSWER_FIELDS
from service.presets import read
from service.presets.answers import Answers, is_blank
from service.sources import Source

_SCHEMA = ContactSchema()
ANSWERED = tuple(f.name for f in ANSWER_FIELDS)
TEST_TAG = "Test"  # added to sender test leads when a source says `test_leads = "tag"`


def contact_input(source: Source, answers: Answers) -> dict[str, Any]:
    """Pick the contact fields, custom fields and tags out of the answers."""
    data: dict[str, Any] = {
        "region": source.default_region,
        "identifier_format": source.identifier_format,
        "callbell_source": source.callbell_source,
        **source.contact_settings,
    }
    for key in ("name", "first_name", "last_name", "phone", *ANSWERED):
        path = source.fields.get(key)
        data[key] = answers.get(path) if path else answers.known.get(key)
    data["custom_fields"] = {
        callbell_name: answers.get(path) for callbell_name, path in source.custom_fields.items()
    }
    data["tags"] = list(source.tags) + _answer_tags(answers, source.tag_fields)
    return data


def _answer_tags(answers: Answers, paths: tuple[str, ...]) -> list[str]:
    """Turn the answers named by `tag_fields` into tags (a choice's label, each of several choices)."""
    tags: list[str] = []
    for path in paths:
        value = answers.get(path)
        if is_blank(value):
            continue
        for item in value if isinstance(value, list) else [value]:
            if not is_blank(item):
                tags.append(str(item).strip())
    return tags


def contact_from(source: Source, answers: Answers) -> dict[str, Any]:
    """Build the Callbell contact request; raise ValidationError listing every wrong or missing field."""
    contact = _SCHEMA.load(contact_input(source, answers))
    if answers.is_test and source.test_leads == "tag":
        contact["tags"] = sorted({*contact["tags"], TEST_TAG})
    return contact


def build_contact(source: Source, payload: dict[str, Any]) -> tuple[dict[str, Any], Answers]:
    """Read a decoded payload with the source's preset and build its contact request."""
    answers = read(source.preset, payload)
    return contact_from(source, answers), answers
