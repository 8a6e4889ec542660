"""WordPress form plugins: Contact Form 7 (form tag names) and Gravity Forms (field ids)."""

from __future__ import annotations

import re
from typing import Any

from service.presets.answers import (
    Answers,
    flatten,
    is_blank,
    recognise,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_PHONE = re.compile(r"^[\s+()\-.\d]{7,}$")


def read_cf7(payload: dict[str, Any]) -> Answers:
    """Contact Form 7: a flat object keyed by form tag names (`your-name`, `your-tel`, ...)."""
    values = flatten(payload)
    return Answers(values=values, known=recognise(values))


GRAVITY_META = {
    "id",
    "form_id",
    "date_created",
    "date_updated",
    "source_url",
    "ip",
    "user_agent",
    "created_by",
    "status",
    "currency",
    "post_id",
    "is_starred",
    "is_read",
}


def read_gravity_forms(payload: dict[str, Any]) -> Answers:
    """Gravity Forms: answers keyed by field id (`"1"`, `"1.3"` first name, `"1.6"` last name)."""
    values = {str(k): v for k, v in payload.items()}
    known: dict[str, Any] = recognise({k: v for k, v in values.items() if not re.fullmatch(r"[\d.]+", k)})
    answers = {k: v for k, v in values.items() if re.fullmatch(r"\d+(\.\d+)?", k) and not is_blank(v)}
    for key, value in sorted(answers.items()):
        text = str(value).strip()
        if key.endswith(".3"):
            known.setdefault("first_name", text)
        elif key.endswith(".6"):
            known.setdefault("last_name", text)
        elif _EMAIL.match(text):
            known.setdefault("email", text)
        elif _PHONE.match(text) and sum(ch.isdigit() for ch in text) >= 7:
            known.setdefault("phone", text)
    return Answers(values=values, known=known, event_id=None)
