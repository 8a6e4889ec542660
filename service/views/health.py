"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from service.metrics import exposition
from service.openapi import document
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


@bp.get("/metrics")
def metrics() -> Response:
    """Expose the shared metrics in the Prometheus text format."""
    rt = runtime()
    return Response(
        exposition(rt.redis, rt.settings.queue_name, tuple(rt.sources)), mimetype=CONTENT_TYPE_LATEST
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3 document of every public and admin endpoint."""
    return jsonify(document(runtime().settings.callbell_webhook_path))
