"""Google Ads lead form webhooks: `user_column_data[]` keyed by column id and name."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    as_list,
    is_blank,
)

GOOGLE_COLUMNS = {
    "FULL_NAME": "name",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
}


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
