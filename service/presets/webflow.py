"""Webflow form submissions: answers keyed by the labels the site author typed."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    as_dict,
    recognise,
    text_id,
)


def read_webflow(payload: dict[str, Any]) -> Answers:
    """Webflow: `payload.data` keyed by the labels the site author typed."""
    inner = as_dict(payload.get("payload")) or payload
    data = as_dict(inner.get("data"))
    values = dict(data)
    values.update({"form_name": inner.get("name"), "site_id": inner.get("siteId")})
    return Answers(values=values, known=recognise(data), event_id=text_id(inner.get("id")))
