"""The sandbox's HTTP API: Callbell's contacts and messages API under /v1; inspection under /_sandbox."""

from __future__ import annotations

import random
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from marshmallow import ValidationError

from sandbox.errors import error
from sandbox.state import SandboxState
from service.contact_fields import CREATE_PARAMETERS, PATCH_PARAMETERS

# What Callbell accepts, from the one declaration of the contact's fields.
CONTACT_FIELDS = CREATE_PARAMETERS
PATCH_FIELDS = PATCH_PARAMETERS


def create_sandbox_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the sandbox app; `config` takes the same keys as POST /_sandbox/config."""
    app = Flask(__name__)
    state = SandboxState(config or {})
    app.extensions["sandbox"] = state

    def _faulty() -> bool:
        """Whether injected faults apply to this request's path."""
        paths = state.config["fault_paths"]
        return paths is None or any(request.path.startswith(f"/v1{p}") for p in paths)

    @app.before_request
    def _gate() -> Response | None:
        """Apply the rate limit, the token and the injected errors to /v1 requests."""
        if not request.path.startswith("/v1/"):
            return None
        g.started = time.monotonic()
        state.begin()
        if not state.admit():
            response = error(429, "Too Many Requests")
            if state.config["retry_after_seconds"] is not None:
                # Callbell documents no Retry-After; the sandbox can send one to test that it is honoured.
                response.headers["Retry-After"] = str(state.config["retry_after_seconds"])
            return response
        token = state.config["token"]
        if token and request.headers.get("Authorization", "") != f"Bearer {token}":
            return error(401, "Unauthorized")
        if _faulty() and random.random() < state.config["error_rate"]:
            return error(random.choice([500, 502, 503]), "injected server error")
        if request.method in ("POST", "PATCH"):
            if request.mimetype != "application/json":
                return error(415, "Content-Type must be application/json")
            if request.get_json(silent=True) is None or not isinstance(request.get_json(), dict):
                return error(400, "malformed JSON body")
        return None

    @app.after_request
    def _delay_and_count(response: Response) -> Response:
        """Hold timed-out requests, add latency, and count the answer by endpoint and status."""
        if not request.path.startswith("/v1/"):
            return response
        cfg = state.config
        if response.status_code != 429 and _faulty() and random.random() < cfg["timeout_rate"]:
            # The request was processed; only the answer is late, as when a real server is slow.
            time.sleep(cfg["hold_seconds"])
        delay_ms = cfg["latency_ms"] + random.uniform(-cfg["jitter_ms"], cfg["jitter_ms"])
        remaining = max(delay_ms, 0) / 1000 - (time.monotonic() - g.get("started", time.monotonic()))
        if remaining > 0:
            time.sleep(remaining)
        rule = request.url_rule.rule if request.url_rule else "(unmatched)"
        state.count(f"{request.method} {rule}", response.status_code)
        return response

    @app.teardown_request
    def _done(_exc: BaseException | None) -> None:
        if "started" in g:
            state.end()

    def _check_body(body: dict[str, Any], allowed: tuple[str, ...], refusal: str) -> Response | None:
        """422 for parameters outside `allowed`, then the account checks of `_check_known`."""
        extra = sorted(set(body) - set(allowed))
        if extra:
            return error(422, f"{refusal}: {', '.join(extra)}")
        return _check_known(body)

    def _check_known(body: dict[str, Any]) -> Response | None:
        """422 for unknown tags, custom fields or users, and for non-text custom field values."""
        tags = body.get("tags") or []
        custom = body.get("custom_fields") or {}
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return error(422, "tags must be an array of strings")
        if not isinstance(custom, dict):
            return error(422, "custom_fields must be an object")
        bad_values = sorted(k for k, v in custom.items() if not isinstance(v, str))
        if bad_values:
            return error(422, f"custom field values must be strings: {', '.join(bad_values)}")
        for kind, names in (
            ("tags", tags),
            ("custom_fields", list(custom)),
            ("users", [body["assigned_user"]] if body.get("assigned_user") else []),
        ):
            unknown = state.unknown(kind, names)
            if unknown:
                return error(422, f"unknown {kind.replace('_', ' ')}: {', '.join(unknown)}", unknown=unknown)
        return None

    @app.post("/v1/contacts")
    def create_contact() -> Response:
        body = request.get_json()
        missing = [k for k in ("identifier", "source", "name") if not body.get(k)]
        if missing:
            return error(422, f"missing required parameters: {', '.join(missing)}", missing=missing)
        problem = _check_body(body, CONTACT_FIELDS, "unknown parameters")
        if problem:
            return problem
        contact = state.create(body)
        if contact is None:
            return error(422, "contact already exists", identifier=body["identifier"])
        return jsonify(contact=[contact])

    @app.get("/v1/contacts/phone/<phone>")
    def find_by_phone(phone: str) -> Response:
        channel = request.args.get("channel_uuid")
        if channel and not any(c["uuid"] == channel for c in state.config["channels"]):
            return error(422, f"unknown channel: {channel}")
        contact = state.find_phone(phone)
        return jsonify(contact=contact) if contact else error(404, "contact not found")

    @app.get("/v1/contacts/<contact_uuid>")
    def get_contact(contact_uuid: str) -> Response:
        contact = state.get(contact_uuid)
        return jsonify(contact=[contact]) if contact else error(404, "contact not found")

    @app.patch("/v1/contacts/<contact_uuid>")
    def patch_contact(contact_uuid: str) -> Response:
        body = request.get_json()
        problem = _check_body(body, PATCH_FIELDS, "cannot be changed")
        if problem:
            return problem
        contact = state.update(contact_uuid, body)
        return jsonify(contact=[contact]) if contact else error(404, "contact not found")

    @app.get("/v1/auth/me")
    def auth_me() -> Response:
        return jsonify(user={"name": "leadrelay sandbox", "email": "sandbox@example.com"})

    @app.get("/_sandbox/contacts")
    def sandbox_contacts() -> Response:
        return jsonify(contacts=state.all_contacts())

    @app.get("/_sandbox/stats")
    def sandbox_stats() -> Response:
        return jsonify(state.stats())

    @app.post("/_sandbox/reset")
    def sandbox_reset() -> Response:
        state.reset()
        return jsonify(status="reset")

    @app.post("/_sandbox/config")
    def sandbox_config() -> Response:
        try:
            return jsonify(state.configure(request.get_json(force=True) or {}))
        except ValidationError as exc:
            return error(422, "invalid sandbox configuration", fields=exc.messages)

    from sandbox.messaging import bp as messaging

    app.register_blueprint(messaging)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app
