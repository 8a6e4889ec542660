"""What a preset hands on: the sender's answers by stable key, and the contact fields it found."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.errors import PayloadError

# Field names people give to the same thing, compared without case or punctuation.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "yourname", "contactname", "nombre", "nome", "nom"),
    "first_name": ("firstname", "fname", "givenname", "first", "yourfirstname"),
    "last_name": ("lastname", "lname", "surname", "familyname", "last", "yourlastname"),
    "phone": (
        "phone",
        "phonenumber",
        "tel",
        "telephone",
        "yourtel",
        "yourphone",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cell",
        "cellphone",
        "whatsapp",
        "whatsappnumber",
        "telefono",
        "telefone",
    ),
    "email": ("email", "emailaddress", "mail", "youremail", "workemail", "correo"),
    "note": ("message", "note", "notes", "comment", "comments", "yourmessage"),
}
_ALIAS_TO_KEY = {alias: key for key, aliases in ALIASES.items() for alias in aliases}


@dataclass
class Answers:
    """A lead as a preset read it: every answer by key, plus the contact fields it recognised."""

    values: dict[str, Any]
    known: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    is_test: bool = False  # a sender's test submission (Google Ads `is_test`)

    def get(self, key: str) -> Any:
        """Return the answer at `key`, or the recognised contact field of that name."""
        if key in self.values:
            return self.values[key]
        return self.known.get(key)


def squash(key: str) -> str:
    """Reduce a field name to lowercase letters and digits, for alias matching."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def recognise(values: Mapping[str, Any]) -> dict[str, Any]:
    """Find name, phone, email and note among answers by their usual field names."""
    found: dict[str, Any] = {}
    for key, value in values.items():
        if is_blank(value):
            continue
        last = key.rsplit(".", 1)[-1]
        contact_key = _ALIAS_TO_KEY.get(squash(key)) or _ALIAS_TO_KEY.get(squash(last))
        if contact_key and contact_key not in found:
            found[contact_key] = value
    return found


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects to dotted keys; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def is_blank(value: Any) -> bool:
    """True for values that carry no answer: None, empty or whitespace-only text, empty lists."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return all(is_blank(v) for v in value)
    return False


def as_dict(value: Any) -> dict[str, Any]:
    """The value if it is an object, else an empty one (senders leave out or mistype anything)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """The value if it is an array, else an empty one."""
    return value if isinstance(value, list) else []


def embedded_json(payload: dict[str, Any], field: str) -> dict[str, Any]:
    """Parse the JSON object some senders put inside one form field."""
    raw = payload.get(field) or "{}"
    try:
        data = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError as exc:
        raise PayloadError(f"{field} is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise PayloadError(f"{field} must hold a JSON object")
    return data


def text_id(value: Any) -> str | None:
    """An event id as text, or None when the sender gave none."""
    return None if is_blank(value) else str(value)
