"""Presets for ad platforms and survey tools: Typeform, Google Ads lead forms, Meta Lead Ads."""

from __future__ import annotations

from typing import Any

from service.presets.answers import Answers, is_blank, recognise

GOOGLE_COLUMNS = {
    "FULL_NAME": "name",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
}


def read_typeform(payload: dict[str, Any]) -> Answers:
    """Typeform: `form_response.answers[]` keyed by field ref; hidden fields as `hidden.<name>`."""
    response = payload.get("form_response") if isinstance(payload.get("form_response"), dict) else {}
    titles = {
        f.get("id"): f.get("title")
        for f in (response.get("definition") or {}).get("fields") or []
        if isinstance(f, dict)
    }
    values: dict[str, Any] = {}
    known: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        field = answer.get("field") if isinstance(answer.get("field"), dict) else {}
        kind = answer.get("type")
        value = _typeform_value(kind, answer.get(kind))
        for key in (field.get("ref"), field.get("id"), titles.get(field.get("id"))):
            if key:
                values.setdefault(str(key), value)
        if kind == "phone_number" and not is_blank(value):
            known.setdefault("phone", value)
        elif kind == "email" and not is_blank(value):
            known.setdefault("email", value)
    for name, value in (response.get("hidden") or {}).items():
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
        return [*(value.get("labels") or []), *([value["other"]] if value.get("other") else [])]
    return value


def read_google_ads(payload: dict[str, Any]) -> Answers:
    """Google Ads lead form: `user_column_data[]` by column id (and the column's name when given)."""
    values: dict[str, Any] = {
        k: payload.get(k)
        for k in ("lead_id", "form_id", "campaign_id", "gcl_id", "adgroup_id", "creative_id")
        if k in payload
    }
    known: dict[str, Any] = {}
    for column in payload.get("user_column_data") or []:
        if not isinstance(column, dict):
            continue
        value = column.get("string_value")
        column_id = str(column.get("column_id") or "")
        for key in (column_id, column.get("column_name")):
            if key:
                values.setdefault(str(key), value)
        if column_id in GOOGLE_COLUMNS and not is_blank(value):
            known.setdefault(GOOGLE_COLUMNS[column_id], value)
    answers = Answers(
        values=values,
        known=known,
        event_id=None if is_blank(payload.get("lead_id")) else str(payload["lead_id"]),
    )
    answers.is_test = payload.get("is_test") is True
    return answers


def meta_leadgen_ids(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The leads a Meta notification announces: `entry[].changes[]` with `field == "leadgen"`."""
    found = []
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if change.get("field") == "leadgen" and isinstance(value, dict) and value.get("leadgen_id"):
                found.append(
                    {
                        k: str(value[k])
                        for k in ("leadgen_id", "form_id", "page_id", "ad_id", "created_time")
                        if value.get(k) is not None
                    }
                )
    return found


def read_meta_lead(lead: dict[str, Any]) -> Answers:
    """A lead fetched from the Graph API: `field_data[]` of `{name, values[]}`."""
    values: dict[str, Any] = {}
    for field in lead.get("field_data") or []:
        if isinstance(field, dict) and field.get("name"):
            items = field.get("values") or []
            values[str(field["name"])] = items[0] if len(items) == 1 else items
    values.update({k: lead.get(k) for k in ("form_id", "ad_id", "campaign_id") if k in lead})
    return Answers(
        values=values, known=recognise(values), event_id=None if is_blank(lead.get("id")) else str(lead["id"])
    )


def read_meta_notification(payload: dict[str, Any]) -> Answers:
    """A Meta notification read on its own has no contact data: the worker fetches each lead."""
    ids = meta_leadgen_ids(payload)
    return Answers(values={"leads": ids}, known={}, event_id=ids[0]["leadgen_id"] if len(ids) == 1 else None)
