"""The intake endpoint: verify, decode, validate, record, enqueue, answer. No outbound HTTP here."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError

from service import bodies
from service.errors import PayloadError, VerificationError
from service.mapping import build_contact
from service.problems import problem
from service.runtime import runtime
from service.verify import Inbound, verify

bp = Blueprint("intake", __name__)


@bp.post("/v1/leads/<source_name>")
def intake(source_name: str) -> Response:
    """Accept one lead from a configured source."""
    rt = runtime()
    source = rt.sources.get(source_name)
    if source is None:
        return problem(
            404, f"unknown source {source_name!r}; configured sources are named in the sources file"
        )
    content_type = request.content_type or ""
    if not bodies.is_supported(content_type):
        return problem(
            415,
            f"content type {bodies.media_type(content_type) or '(none)'!r} is not supported; "
            f"send one of {', '.join(bodies.SUPPORTED_TYPES)}",
        )
    raw = request.get_data(cache=False)
    inbound = Inbound(request.method, request.url, request.headers, request.args, raw)
    try:
        verify(source.auth, inbound, source.secrets)
    except VerificationError as exc:
        return problem(401, str(exc))
    try:
        payload = bodies.decode(content_type, raw)
    except bodies.UnsupportedType as exc:
        return problem(415, str(exc))
    except PayloadError as exc:
        return problem(400, str(exc))
    try:
        contact, _event_id = build_contact(source, payload)
    except ValidationError as exc:
        lead_id = rt.store.reject(source.name, content_type, raw, exc.messages)
        return problem(
            422,
            "the lead is not valid; it was kept as a dead letter and can be replayed "
            "once the form or the mapping is fixed",
            errors=exc.messages,
            lead_id=lead_id,
        )
    lead_id = rt.store.accept(source.name, content_type, raw, contact, source.delivery_mode)
    response = jsonify(lead_id=lead_id, status="queued")
    response.status_code = 202
    return response
