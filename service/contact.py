"""The marshmallow schema that turns a mapped lead into a Callbell `POST /contacts` request."""

from __future__ import annotations

import functools
from typing import Any

import phonenumbers
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from service.contact_fields import ANSWER, ANSWER_FIELDS, SOURCE_SETTINGS
from service.presets.answers import is_blank


class Text(fields.Field):
    """A text value that also takes numbers and booleans (senders are loose with JSON types)."""

    default_error_messages = {"invalid": "Not a text value."}
    strip = True

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return f"{value:g}" if isinstance(value, float) else str(value)
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return ", ".join(str(v) for v in value if str(v).strip())
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value.strip() if self.strip else value


class PhoneText(Text):
    """Text kept as sent: a leading space may be a form-encoded "+"."""

    strip = False


@functools.lru_cache(maxsize=4096)  # validation and building each parse the same number
def parse_phone(raw: str, region: str) -> phonenumbers.PhoneNumber:
    """Parse a phone as people write it; raise ValueError with the reason when it is not valid."""
    text = raw.rstrip()
    candidates = []
    if text[:1].isspace() and text.lstrip()[:1].isdigit():
        # A form-encoded "+" decodes to a space: " 1 415..." was "+1 415...".
        candidates.append("+" + text.lstrip())
    text = text.strip()
    if text.startswith("00"):
        # 00 is the international prefix in most of the world; libphonenumber only knows it per region.
        candidates.append("+" + text[2:])
    candidates.append(text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    raise ValueError(f"{raw.strip()!r} is not a valid phone number (default region {region})")


# The contact fields a source sets or an answer gives, passed on as they are (see contact_fields).
PASSED_ON = (*SOURCE_SETTINGS, *ANSWER_FIELDS)
_PassedOn = Schema.from_dict(
    {f.name: (Text if f.origin == ANSWER else fields.String)(load_default=None) for f in PASSED_ON},
    name="PassedOnFields",
)


class ContactSchema(_PassedOn):  # type: ignore[misc,valid-type]
    """Validate a mapped lead and build the Callbell contact request from it."""

    class Meta:
        unknown = RAISE

    name = Text(load_default=None)
    first_name = Text(load_default=None)
    last_name = Text(load_default=None)
    phone = PhoneText(required=True, error_messages={"required": "Missing phone number."})
    region = fields.String(required=True)
    identifier_format = fields.String(required=True, validate=validate.OneOf(["digits", "e164"]))
    callbell_source = fields.String(required=True)
    tags = fields.List(Text(), load_default=list)
    custom_fields = fields.Dict(keys=fields.String(), values=Text(), load_default=dict)

    @pre_load
    def _drop_blanks(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Treat empty answers as absent, so `phone=""` reads as a missing phone."""
        cleaned = {k: v for k, v in data.items() if not is_blank(v)}
        if isinstance(cleaned.get("custom_fields"), dict):
            cleaned["custom_fields"] = {k: v for k, v in cleaned["custom_fields"].items() if not is_blank(v)}
        return cleaned

    @validates_schema(skip_on_field_errors=False)
    def _check_lead(self, data: dict[str, Any], **_: Any) -> None:
        """Require a name (full, or first and last) and a valid phone number."""
        errors: dict[str, list[str]] = {}
        if not _full_name(data):
            errors["name"] = ["Missing name: send a full name, or a first and a last name."]
        if data.get("phone") and data.get("region"):
            try:
                parse_phone(data["phone"], data["region"])
            except ValueError as exc:
                errors["phone"] = [str(exc)]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _to_request(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Build the request body Callbell expects (snake_case keys)."""
        number = parse_phone(data["phone"], data["region"])
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        request: dict[str, Any] = {
            "source": data["callbell_source"],
            "identifier": e164 if data["identifier_format"] == "e164" else e164.lstrip("+"),
            "name": _full_name(data),
            "tags": sorted({t for t in data["tags"] if t}),
            "custom_fields": {k: v for k, v in data["custom_fields"].items() if v},
        }
        for spec in PASSED_ON:
            if data.get(spec.name):
                request[spec.name] = data[spec.name][: spec.max_chars]
        return request


def _full_name(data: dict[str, Any]) -> str:
    """Return the full name, or first and last name joined."""
    if data.get("name"):
        return data["name"]
    return " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
