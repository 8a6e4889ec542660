"""The intake ceiling: a bare Flask app that parses the form body and answers 202, nothing else."""

from __future__ import annotations

from flask import Flask, jsonify, request


def create_app() -> Flask:
    """Build the bare app."""
    app = Flask(__name__)

    @app.post("/v1/leads/<source>")
    def accept(source: str):  # type: ignore[no-untyped-def]
        form = request.form.to_dict()
        response = jsonify(lead_id="0" * 32, status="queued", fields=len(form))
        response.status_code = 202
        return response

    return app
