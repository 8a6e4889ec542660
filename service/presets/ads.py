"""Presets for ad platforms and survey tools: Typeform, Google Ads lead forms, Meta Lead Ads."""

from __future__ import annotations

from typing import Any

from service.presets.answers import Answers, as_dict, as_list, is_blank, recognise

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


def read_google_ads(payload: dict[str, Any]) -> Answers:
    """Google Ads lead form: `user_column_data[]` by column id (and the column's name when given)."""
    values: dict[str, Any] = {
        k: payload.get(k)
        for k in ("lead_id", "form_id", "campaign_id", "gcl_id", "adgroup_id", "creative_id")
        if k in payload
    }
    known: dict[str, Any] = {}
    for column in as_list(payload.get("user_column_data")):
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
    for entry in as_list(payload.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            value = as_dict(change).get("value")
            if (
                as_dict(change).get("field") == "leadgen"
                and isinstance(value, dict)
                and value.get("leadgen_id")
            ):
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
    for field in as_list(lead.get("field_data")):
        if isinstance(field, dict) and field.get("name"):
            items = as_list(field.get("values"))
            values[str(field["name"])] = items[0] if len(items) == 1 else items
    values.update({k: lead.get(k) for k in ("form_id", "ad_id", "campaign_id") if k in lead})
    return Answers(
        values=values, known=recognise(values), event_id=None if is_blank(lead.get("id")) else str(lead["id"])
    )


def read_meta_notification(payload: dict[str, Any]) -> Answers:
    """A Meta notification read on its own has no contact data: the worker fetches each lead."""
    ids = meta_leadgen_ids(payload)
    return Answers(values={"leads": ids}, known={}, event_id=ids[0]["leadgen_id"] if len(ids) == 1 else None)
