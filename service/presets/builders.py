"""Presets for site builders and form plugins: Webflow, Tally, Unbounce, Elementor, Jotform, CF7, Gravity."""

from __future__ import annotations

import json
import re
from typing import Any

from service.errors import PayloadError
from service.presets.answers import Answers, as_dict, as_list, flatten, is_blank, recognise

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[\s+()\-.\d]{7,}$")


def read_webflow(payload: dict[str, Any]) -> Answers:
    """Webflow: `payload.data` keyed by the labels the site author typed."""
    inner = as_dict(payload.get("payload")) or payload
    data = as_dict(inner.get("data"))
    values = dict(data)
    values.update({"form_name": inner.get("name"), "site_id": inner.get("siteId")})
    return Answers(values=values, known=recognise(data), event_id=_text_id(inner.get("id")))


def read_tally(payload: dict[str, Any]) -> Answers:
    """Tally: `data.fields[]`, with choice answers given as option ids resolved to their texts."""
    data = as_dict(payload.get("data"))
    fields = [f for f in as_list(data.get("fields")) if isinstance(f, dict)]
    values: dict[str, Any] = {"form_name": data.get("formName")}
    known: dict[str, Any] = {}
    for field in fields:
        value = _tally_value(field)
        for key in (field.get("label"), field.get("key")):
            if key:
                values.setdefault(str(key), value)
        kind = str(field.get("type", ""))
        if kind == "INPUT_PHONE_NUMBER" and not is_blank(value):
            known.setdefault("phone", value)
        elif kind == "INPUT_EMAIL" and not is_blank(value):
            known.setdefault("email", value)
    labelled = {str(f["label"]): values.get(str(f["label"])) for f in fields if f.get("label")}
    return Answers(
        values=values, known={**recognise(labelled), **known}, event_id=_text_id(payload.get("eventId"))
    )


def _tally_value(field: dict[str, Any]) -> Any:
    """An answer's value, with option ids replaced by the options' texts."""
    value = field.get("value")
    options = {str(o.get("id")): o.get("text") for o in as_list(field.get("options")) if isinstance(o, dict)}
    if options and isinstance(value, list):
        return [options.get(str(v), v) for v in value]
    if options and isinstance(value, str):
        return options.get(value, value)
    return value


def read_unbounce(payload: dict[str, Any]) -> Answers:
    """Unbounce: the answers are JSON in the form field `data.json`, every value an array."""
    data = _embedded_json(payload, "data.json")
    values = {k: _single(v) for k, v in data.items()}
    values.update({k: payload.get(k) for k in ("page_id", "page_url", "variant") if k in payload})
    return Answers(values=values, known=recognise(values))


def _embedded_json(payload: dict[str, Any], field: str) -> dict[str, Any]:
    """Parse the JSON object some senders put inside one form field."""
    raw = payload.get(field) or "{}"
    try:
        data = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError as exc:
        raise PayloadError(f"{field} is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise PayloadError(f"{field} must hold a JSON object")
    return data


def _single(value: Any) -> Any:
    """Unwrap a one-element array; keep longer ones (multi-selects)."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def read_elementor(payload: dict[str, Any]) -> Answers:
    """Elementor Pro: label-keyed fields (simple mode) or `fields[<id>][value|type|title]` (advanced)."""
    fields: dict[str, dict[str, Any]] = {}
    for key, value in payload.items():
        match = re.fullmatch(r"fields\[([^\]]+)\]\[(\w+)\]", key)
        if match:
            fields.setdefault(match.group(1), {})[match.group(2)] = value
    if not fields:
        values = dict(payload)
        return Answers(values=values, known=recognise(values))
    values: dict[str, Any] = {}
    known: dict[str, Any] = {}
    for field_id, parts in fields.items():
        value = parts.get("value")
        values[field_id] = value
        if parts.get("title"):
            values.setdefault(str(parts["title"]), value)
        if parts.get("type") == "tel" and not is_blank(value):
            known.setdefault("phone", value)
        elif parts.get("type") == "email" and not is_blank(value):
            known.setdefault("email", value)
    values["form_name"] = payload.get("form[name]")
    return Answers(values=values, known={**recognise(values), **known})


def read_jotform(payload: dict[str, Any]) -> Answers:
    """Jotform: `rawRequest` holds JSON keyed `q<N>_<slug>`; names and phones arrive as objects."""
    data = _embedded_json(payload, "rawRequest")
    values: dict[str, Any] = {"form_title": payload.get("formTitle"), "form_id": payload.get("formID")}
    known: dict[str, Any] = {}
    for key, value in data.items():
        slug = re.sub(r"^q\d+_", "", key)
        if isinstance(value, dict) and ({"first", "last"} & set(value)):
            known.setdefault("first_name", value.get("first"))
            known.setdefault("last_name", value.get("last"))
            value = " ".join(str(value.get(p) or "") for p in ("first", "middle", "last")).split()
            value = " ".join(value)
        elif isinstance(value, dict) and ({"full", "area", "phone"} & set(value)):
            value = value.get("full") or " ".join(str(value.get(p) or "") for p in ("area", "phone")).strip()
            known.setdefault("phone", value)
        values[slug] = value
        values[key] = value
    return Answers(
        values=values, known={**recognise(values), **known}, event_id=_text_id(payload.get("submissionID"))
    )


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


def read_hubspot(payload: dict[str, Any]) -> Answers:
    """HubSpot workflow webhook: contact properties, flat or under `properties`, plain or `{value: ...}`."""
    props = payload.get("properties") if isinstance(payload.get("properties"), dict) else payload
    values = {k: (v.get("value") if isinstance(v, dict) and "value" in v else v) for k, v in props.items()}
    known = recognise(values)
    if is_blank(known.get("phone")) and not is_blank(values.get("mobilephone")):
        known["phone"] = values["mobilephone"]
    return Answers(values=values, known=known, event_id=None)


def _text_id(value: Any) -> str | None:
    """An event id as text, or None when the sender gave none."""
    return None if is_blank(value) else str(value)
