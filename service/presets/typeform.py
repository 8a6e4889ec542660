"""Typeform webhooks: answers keyed by field ref, id and title; choices give their labels."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    as_dict,
    as_list,
    is_blank,
    recognise,
)


def read_typeform(payload: dict[str, Any]) -> Answers:
    """Typeform: `form_response.answers[]` keyed by field ref; hidden fields as `hidden.<name>`."""
    response = as_dict(payload.get("form_response"))
    titles = {
        str(f.get("id")): f.get("title")
        for f in as_list(as_dict(response.get("definition")).get("fields"))
        if isinstance(f, dict)
    }
    values: dict[str, Any] = {}
    known: dict[str, Any] = {}
    for answer in as_list(response.get("answers")):
        if not isinstance(answer, dict):
            continue
        field = as_dict(answer.get("field"))
        kind = answer.get("type") if isinstance(answer.get("type"), str) else ""
        value = _typeform_value(kind, answer.get(kind))
        for key in (field.get("ref"), field.get("id"), titles.get(str(field.get("id")))):
            if key:
                values.setdefault(str(key), value)
        if kind == "phone_number" and not is_blank(value):
            known.setdefault("phone", value)
        elif kind == "email" and not is_blank(value):
            known.setdefault("email", value)
    for name, value in as_dict(response.get("hidden")).items():
        values[f"hidden.{name}"] = value
    return Answers(
        values=values,
        known={**recognise(values), **known},
        event_id=None if is_blank(payload.get("event_id")) else str(payload["event_id"]),
    )


def _typeform_value(kind: Any, value: Any) -> Any:
    """A Typeform answer's value: a choice's label, several choices' labels, or the plain value."""
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        return [*as_list(value.get("labels")), *([value["other"]] if value.get("other") else [])]
    return value
