"""Jotform: `rawRequest` JSON keyed `q<N>_<slug>`; names and phones arrive as objects."""

from __future__ import annotations

import re
from typing import Any

from service.presets.answers import (
    Answers,
    embedded_json,
    recognise,
    text_id,
)


def read_jotform(payload: dict[str, Any]) -> Answers:
    """Jotform: `rawRequest` holds JSON keyed `q<N>_<slug>`; names and phones arrive as objects."""
    data = embedded_json(payload, "rawRequest")
    values: dict[str, Any] = {"form_title": payload.get("formTitle"), "form_id": payload.get("formID")}
    known: dict[str, Any] = {}
    for key, value in data.items():
        slug = re.sub(r"^q\d+_", "", key)
        if isinstance(value, dict) and ({"first", "last"} & set(value)):
            known.setdefault("first_name", value.get("first"))
            known.setdefault("last_name", value.get("last"))
            value = " ".join(str(value.get(p) or "") for p in ("first", "middle", "last")).split()
            value = " ".join(value)
        elif isinstance(value, dict) and ({"full", "area", "phone"} & set(value)):
            value = value.get("full") or " ".join(str(value.get(p) or "") for p in ("area", "phone")).strip()
            known.setdefault("phone", value)
        values[slug] = value
        values[key] = value
    return Answers(
        values=values, known={**recognise(values), **known}, event_id=text_id(payload.get("submissionID"))
    )
