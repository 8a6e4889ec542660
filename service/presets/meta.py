"""Meta (Facebook/Instagram) Lead Ads: a notification announces leads that the worker fetches."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    as_dict,
    as_list,
    is_blank,
    recognise,
)


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
