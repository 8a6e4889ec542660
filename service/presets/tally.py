"""Tally webhooks: `data.fields[]` keyed by label and key; option ids become option texts."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    as_dict,
    as_list,
    is_blank,
    recognise,
    text_id,
)


def read_tally(payload: dict[str, Any]) -> Answers:
    """Tally: `data.fields[]`, with choice answers given as option ids resolved to their texts."""
    data = as_dict(payload.get("data"))
    fields = [f for f in as_list(data.get("fields")) if isinstance(f, dict)]
    values: dict[str, Any] = {"form_name": data.get("formName")}
    known: dict[str, Any] = {}
    for field in fields:
        value = _tally_value(field)
        for key in (field.get("label"), field.get("key")):
            if key:
                values.setdefault(str(key), value)
        kind = str(field.get("type", ""))
        if kind == "INPUT_PHONE_NUMBER" and not is_blank(value):
            known.setdefault("phone", value)
        elif kind == "INPUT_EMAIL" and not is_blank(value):
            known.setdefault("email", value)
    labelled = {str(f["label"]): values.get(str(f["label"])) for f in fields if f.get("label")}
    return Answers(
        values=values, known={**recognise(labelled), **known}, event_id=text_id(payload.get("eventId"))
    )


def _tally_value(field: dict[str, Any]) -> Any:
    """An answer's value, with option ids replaced by the options' texts."""
    value = field.get("value")
    options = {str(o.get("id")): o.get("text") for o in as_list(field.get("options")) if isinstance(o, dict)}
    if options and isinstance(value, list):
        return [options.get(str(v), v) for v in value]
    if options and isinstance(value, str):
        return options.get(value, value)
    return value
