"""Operator endpoints, behind `Authorization: Bearer $LEADRELAY_ADMIN_TOKEN`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request

from service.problems import problem
from service.records import public_view
from service.runtime import runtime
from service.verify import matches_any

bp = Blueprint("admin", __name__)


def admin_only(view: Callable[..., Response]) -> Callable[..., Response]:
    """Refuse the request with 401 unless it carries the admin token."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Response:
        token = runtime().settings.admin_token
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if not token:
            return problem(401, "the admin API is disabled: set LEADRELAY_ADMIN_TOKEN")
        if scheme.lower() != "bearer" or not matches_any(offered.strip(), (token,)):
            return problem(401, "missing or wrong admin token (Authorization: Bearer ...)")
        return view(*args, **kwargs)

    return guarded


@bp.get("/v1/leads/<lead_id>")
@admin_only
def show_lead(lead_id: str) -> Response:
    """Show one lead: status, source, times, contact request, delivery attempts."""
    record = runtime().store.get(lead_id)
    if record is None:
        return problem(404, f"no lead {lead_id!r} (unknown, or expired after its retention)")
    return jsonify(public_view(record))
