"""Source presets: each reads one sender's payload into answers with stable keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.presets.answers import Answers
from service.presets.generic import read_form, read_json

Preset = Callable[[dict[str, Any]], Answers]

PRESETS: dict[str, Preset] = {
    "form": read_form,
    "json": read_json,
}


def read(preset: str, payload: dict[str, Any]) -> Answers:
    """Read a decoded payload with the named preset."""
    return PRESETS[preset](payload)


__all__ = ["PRESETS", "Answers", "read"]
