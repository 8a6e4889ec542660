"""Elementor Pro forms: label-keyed (simple) or `fields[<id>][value|type|title]` (advanced)."""

from __future__ import annotations

import re
from typing import Any

from service.presets.answers import (
    Answers,
    is_blank,
    recognise,
)


def read_elementor(payload: dict[str, Any]) -> Answers:
    """Elementor Pro: label-keyed fields (simple mode) or `fields[<id>][value|type|title]` (advanced)."""
    fields: dict[str, dict[str, Any]] = {}
    for key, value in payload.items():
        match = re.fullmatch(r"fields\[([^\]]+)\]\[(\w+)\]", key)
        if match:
            fields.setdefault(match.group(1), {})[match.group(2)] = value
    if not fields:
        values = dict(payload)
        return Answers(values=values, known=recognise(values))
    values: dict[str, Any] = {}
    known: dict[str, Any] = {}
    for field_id, parts in fields.items():
        value = parts.get("value")
        values[field_id] = value
        if parts.get("title"):
            values.setdefault(str(parts["title"]), value)
        if parts.get("type") == "tel" and not is_blank(value):
            known.setdefault("phone", value)
        elif parts.get("type") == "email" and not is_blank(value):
            known.setdefault("email", value)
    values["form_name"] = payload.get("form[name]")
    return Answers(values=values, known={**recognise(values), **known})
