"""Source presets: each reads one sender's payload into answers with stable keys."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from service.errors import PayloadError
from service.presets.ads import read_google_ads, read_meta_notification, read_typeform
from service.presets.answers import Answers
from service.presets.builders import (
    read_cf7,
    read_elementor,
    read_gravity_forms,
    read_hubspot,
    read_jotform,
    read_tally,
    read_unbounce,
    read_webflow,
)
from service.presets.generic import read_form, read_json

Preset = Callable[[dict[str, Any]], Answers]
log = logging.getLogger("leadrelay.presets")

PRESETS: dict[str, Preset] = {
    "form": read_form,
    "json": read_json,
    "typeform": read_typeform,
    "google_ads": read_google_ads,
    "meta_lead_ads": read_meta_notification,
    "webflow": read_webflow,
    "tally": read_tally,
    "unbounce": read_unbounce,
    "elementor": read_elementor,
    "jotform": read_jotform,
    "cf7": read_cf7,
    "gravity_forms": read_gravity_forms,
    "hubspot": read_hubspot,
}


def read(preset: str, payload: dict[str, Any]) -> Answers:
    """Read a decoded payload with the named preset.

    Presets read defensively; should a sender's shape still surprise one, the sender gets a 400
    naming the preset instead of a 500.
    """
    try:
        return PRESETS[preset](payload)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        log.warning("preset %s could not read a payload: %s", preset, type(exc).__name__)
        raise PayloadError(f"the payload does not have the shape the {preset!r} preset reads") from None


__all__ = ["PRESETS", "Answers", "read"]
