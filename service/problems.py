"""RFC 9457 problem details: the one shape every error answer takes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
# Long enough for a restarting Redis to come back, short enough that senders retry soon.
REDIS_RETRY_AFTER_SECONDS = 5


def problem(status: int, detail: str, *, errors: dict[str, Any] | None = None, **extra: Any) -> Response:
    """Build a problem+json response; `errors` maps each field to its reasons."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [
            {"field": field, "reason": reason}
            for field, reasons in sorted(_flatten_errors(errors).items())
            for reason in reasons
        ]
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    if status == 401:  # RFC 9110: a 401 names how to authenticate
        response.headers["WWW-Authenticate"] = 'Bearer realm="leadrelay"'
    return response


def _flatten_errors(errors: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages to `dotted.field: [reasons]`."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten_errors(value, dotted))
        else:
            flat[dotted] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return flat


def init_app(app: Flask) -> None:
    """Answer every error, including unexpected ones, as problem+json and never with a traceback."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = problem(exc.code or 500, exc.description or HTTPStatus(exc.code or 500).phrase)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_down(exc: Exception) -> Response:
        app.logger.error("redis unavailable: %s", type(exc).__name__)
        response = problem(503, "lead storage is unavailable; nothing was stored, retry later")
        response.headers["Retry-After"] = str(REDIS_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return problem(500, "internal error; the request was logged")
