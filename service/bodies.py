"""Decode a raw request body by its content type into a dict, saying exactly what is wrong if it cannot."""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from service.errors import PayloadError

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SUPPORTED_TYPES = JSON_TYPES + FORM_TYPES


class UnsupportedType(PayloadError):
    """The content type (or its charset) is not one leadrelay reads."""


def media_type(content_type: str) -> str:
    """Return the bare media type of a Content-Type header, lower-cased."""
    return parse_options_header(content_type)[0].lower()


def is_supported(content_type: str) -> bool:
    """True when the body can be decoded (JSON, urlencoded or multipart form)."""
    mime = media_type(content_type)
    return mime in SUPPORTED_TYPES or mime.endswith("+json")


def decode(content_type: str, raw: bytes) -> dict[str, Any]:
    """Decode the body; raise UnsupportedType or PayloadError with a reason a sender can act on."""
    mime, options = parse_options_header(content_type)
    mime = mime.lower()
    charset = options.get("charset", "utf-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        raise UnsupportedType(f"charset {charset!r} is not supported") from None
    if mime in JSON_TYPES or mime.endswith("+json"):
        return _decode_json(raw, charset)
    if mime in FORM_TYPES:
        return _decode_form(mime, options, raw, charset)
    raise UnsupportedType(
        f"content type {mime or '(none)'!r} is not supported; send one of {', '.join(SUPPORTED_TYPES)}"
    )


def _text(raw: bytes, charset: str) -> str:
    """Decode bytes strictly, naming the first bad byte."""
    try:
        return raw.decode(charset)
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not valid {charset}: bad byte at position {exc.start}") from None


def _decode_json(raw: bytes, charset: str) -> dict[str, Any]:
    """Parse a JSON object."""
    if not raw.strip():
        raise PayloadError("body is empty; expected a JSON object")
    try:
        data = json.loads(_text(raw, charset))
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise PayloadError("body is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError(f"body must be a JSON object, not {type(data).__name__}")
    return data


def _decode_form(mime: str, options: dict[str, str], raw: bytes, charset: str) -> dict[str, Any]:
    """Parse an urlencoded or multipart form; repeated names become lists."""
    if mime == "application/x-www-form-urlencoded":
        _text(raw, charset)  # reject undecodable bytes instead of silently replacing them
    if mime == "multipart/form-data" and not options.get("boundary"):
        raise PayloadError("multipart body without a boundary parameter in Content-Type")
    parser = FormDataParser(silent=False, max_form_parts=1000)
    try:
        _, form, files = parser.parse(io.BytesIO(raw), mime, len(raw), options)
    except ValueError as exc:
        raise PayloadError(f"form body cannot be parsed: {exc}") from None
    merged: MultiDict[str, Any] = MultiDict(form)
    for key, storage in files.items(multi=True):
        # Some senders (Jotform) post answers as text parts with a filename; keep them as text.
        merged.add(key, storage.read().decode(charset, errors="replace"))
    decoded: dict[str, Any] = {}
    for key, values in merged.lists():
        decoded[key] = values[0] if len(values) == 1 else values
    return decoded
