"""Operator endpoints, behind `Authorization: Bearer $LEADRELAY_ADMIN_TOKEN`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError

from service import erasure
from service.api_schemas import DeadLetterFilterSchema, LeadSchema
from service.deadletters import Filter, list_dead, replay
from service.lead_view import public_view, summary
from service.problems import problem
from service.runtime import runtime
from service.verify import bearer_token, matches_any

bp = Blueprint("admin", __name__)


def admin_only(view: Callable[..., Response]) -> Callable[..., Response]:
    """Refuse the request with 401 unless it carries the admin token."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Response:
        token = runtime().settings.admin_token
        if not token:
            return problem(401, "the admin API is disabled: set LEADRELAY_ADMIN_TOKEN")
        offered = bearer_token(request.headers)
        if not offered or not matches_any(offered, (token,)):
            return problem(401, "missing or wrong admin token (Authorization: Bearer ...)")
        return view(*args, **kwargs)

    return guarded


@admin_only
def show_lead(lead_id: str) -> Response:
    """Show one lead: status, source, times, contact request, delivery attempts (GET /v1/leads/<id>)."""
    record = runtime().store.get(lead_id)
    if record is None:
        return problem(404, f"no lead {lead_id!r} (unknown, or expired after its retention)")
    return jsonify(LeadSchema().dump(public_view(record)))


def _filter_from(values: Any) -> Filter:
    """Build a dead-letter filter from query or body values; a bad value raises ValueError."""
    return Filter.parse(
        values.get("source"), values.get("status"), values.get("since"), values.get("older_than")
    )


@bp.get("/v1/dead-letters")
@admin_only
def list_dead_letters() -> Response:
    """List dead letters, newest first; filter by `source`, `status`, `since`."""
    try:
        flt = _filter_from(request.args)
        limit = int(request.args.get("limit", 100))
    except ValueError as exc:
        return problem(400, str(exc))
    rows = [summary(r) for r in list_dead(runtime().store, flt, limit=limit)]
    return jsonify(dead_letters=rows, count=len(rows))


@bp.post("/v1/leads/<lead_id>/replay")
@admin_only
def replay_lead(lead_id: str) -> Response:
    """Rebuild one dead letter's contact request with today's sources file and deliver it again."""
    rt = runtime()
    try:
        result = replay(rt.store, rt.sources, lead_id)
    except LookupError as exc:
        return problem(404, str(exc))
    if not result["replayed"]:
        return problem(
            409 if "errors" not in result else 422,
            result.get("reason", "the lead still fails validation"),
            errors=result.get("errors"),
            lead_id=lead_id,
        )
    response = jsonify(result)
    response.status_code = 202
    return response


@bp.post("/v1/dead-letters/replay")
@admin_only
def replay_many() -> Response:
    """Replay every dead letter matching the filters in the JSON body (`{}` means all)."""
    rt = runtime()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "send a JSON object of filters: source, status, since (or {} for all)")
    try:
        flt = _filter_from(DeadLetterFilterSchema().load(body))
    except ValidationError as exc:
        return problem(400, "bad filter", errors=exc.messages)
    except ValueError as exc:
        return problem(400, str(exc))
    results = [replay(rt.store, rt.sources, r["id"]) for r in list_dead(rt.store, flt, limit=10**9)]
    replayed = sum(r["replayed"] for r in results)
    return jsonify(replayed=replayed, not_replayed=len(results) - replayed, results=results)


@bp.delete("/v1/leads/<lead_id>")
@admin_only
def delete_lead(lead_id: str) -> Response:
    """Delete a lead for good (purge a dead letter)."""
    if not runtime().store.delete(lead_id):
        return problem(404, f"no lead {lead_id!r}")
    return Response(status=204)


@bp.post("/v1/erasures")
@admin_only
def erase_person() -> Response:
    """Delete every lead that holds a person's phone or email (`{"phone": ..., "email": ...}`)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not (body.get("phone") or body.get("email")):
        return problem(400, "send a JSON object with the person's phone, email, or both")
    rt = runtime()
    try:
        keys = erasure.search_keys(
            rt.store, str(body.get("phone") or ""), str(body.get("email") or ""), rt.default_region()
        )
    except ValueError as exc:
        return problem(422, "the phone is not valid", errors={"phone": [str(exc)]})
    erased = erasure.erase(rt.store, keys, by="admin API")
    return jsonify(erased=len(erased), lead_ids=erased)
