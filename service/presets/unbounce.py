"""Unbounce: the answers arrive as JSON in the form field `data.json`, every value an array."""

from __future__ import annotations

from typing import Any

from service.presets.answers import (
    Answers,
    embedded_json,
    recognise,
)


def read_unbounce(payload: dict[str, Any]) -> Answers:
    """Unbounce: the answers are JSON in the form field `data.json`, every value an array."""
    data = embedded_json(payload, "data.json")
    values = {k: _single(v) for k, v in data.items()}
    values.update({k: payload.get(k) for k in ("page_id", "page_url", "variant") if k in payload})
    return Answers(values=values, known=recognise(values))


def _single(value: Any) -> Any:
    """Unwrap a one-element array; keep longer ones (multi-selects)."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value
