"""Source presets: each reads one sender's payload into answers with stable keys.

A new sender is one module in this package (named for the sender) with a `read_<sender>` function,
plus one line in PRESETS below and its tests in tests/test_presets.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.errors import PayloadError
from service.presets.answers import Answers
from service.presets.elementor import read_elementor
from service.presets.generic import read_form, read_json
from service.presets.google_ads import read_google_ads
from service.presets.hubspot import read_hubspot
from service.presets.jotform import read_jotform
from service.presets.meta import meta_leadgen_ids, read_meta_lead, read_meta_notification
from service.presets.tally import read_tally
from service.presets.typeform import read_typeform
from service.presets.unbounce import read_unbounce
from service.presets.webflow import read_webflow
from service.presets.wordpress import read_cf7, read_gravity_forms

Reader = Callable[[dict[str, Any]], Answers]
log = logging.getLogger("leadrelay.presets")


@dataclass(frozen=True)
class Preset:
    """How to read one sender.

    Most senders post the lead itself (`read`). Some only announce leads that the worker must
    fetch from the sender's API before delivering them: for those, `announced` lists the leads a
    notification names (each with its event id), and `read_fetched` reads a fetched lead.
    """

    read: Reader
    announced: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    read_fetched: Reader | None = None

    @property
    def fetches_lead(self) -> bool:
        """True when the worker fetches each lead from the sender before delivering it."""
        return self.read_fetched is not None


PRESETS: dict[str, Preset] = {
    "form": Preset(read_form),
    "json": Preset(read_json),
    "typeform": Preset(read_typeform),
    "google_ads": Preset(read_google_ads),
    "meta_lead_ads": Preset(read_meta_notification, announced=meta_leadgen_ids, read_fetched=read_meta_lead),
    "webflow": Preset(read_webflow),
    "tally": Preset(read_tally),
    "unbounce": Preset(read_unbounce),
    "elementor": Preset(read_elementor),
    "jotform": Preset(read_jotform),
    "cf7": Preset(read_cf7),
    "gravity_forms": Preset(read_gravity_forms),
    "hubspot": Preset(read_hubspot),
}


def read(preset: str, payload: dict[str, Any]) -> Answers:
    """Read a decoded payload with the named preset.

    Presets read defensively; should a sender's shape still surprise one, the sender gets a 400
    naming the preset instead of a 500.
    """
    try:
        return PRESETS[preset].read(payload)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        log.warning("preset %s could not read a payload: %s", preset, type(exc).__name__)
        raise PayloadError(f"the payload does not have the shape the {preset!r} preset reads") from None


__all__ = ["PRESETS", "Answers", "Preset", "read"]
