"""Presets for senders without a fixed shape: plain HTML forms and generic JSON."""

from __future__ import annotations

from typing import Any

from service.presets.answers import Answers, flatten, recognise


def read_form(payload: dict[str, Any]) -> Answers:
    """Read flat form fields; repeated names (multi-selects) arrive as lists."""
    values = dict(payload)
    return Answers(values=values, known=recognise(values))


def read_json(payload: dict[str, Any]) -> Answers:
    """Read a flat or nested JSON object; nested keys are addressed with dots."""
    values = flatten(payload)
    return Answers(values=values, known=recognise(values))
