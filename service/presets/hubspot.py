"""HubSpot workflow webhooks: contact properties, flat or under `properties`."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    is_blank,
    recognise,
)


def read_hubspot(payload: dict[str, Any]) -> Answers:
    """HubSpot workflow webhook: contact properties, flat or under `properties`, plain or `{value: ...}`."""
    props = payload.get("properties") if isinstance(payload.get("properties"), dict) else payload
    values = {k: (v.get("value") if isinstance(v, dict) and "value" in v else v) for k, v in props.items()}
    known = recognise(values)
    if is_blank(known.get("phone")) and not is_blank(values.get("mobilephone")):
        known["phone"] = values["mobilephone"]
    return Answers(values=values, known=known, event_id=None)
