"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service.problems import problem
from service.runtime import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Answer 200 when Redis answers, so no lead is accepted that could not be stored."""
    try:
        runtime().redis.ping()
    except Exception:
        response = problem(503, "redis does not answer")
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(status="ready")
