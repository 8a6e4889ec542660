"""The sandbox's error answer."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def error(status: int, message: str, **details: Any) -> Response:
    """An error answer; Callbell does not document its error body, so this shape is the sandbox's own."""
    response = jsonify(error={"message": message, **details})
    response.status_code = status
    return response
