"""The sandbox's messages, templates, channels and teams endpoints, as Callbell documents them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from sandbox.errors import error

bp = Blueprint("messaging", __name__)
MESSAGE_FIELDS = (
    "from", "to", "type", "content", "channel_uuid", "template_uuid", "optin_contact",
    "template_values", "assigned_user", "team_uuid", "metadata", "fields",
)  # fmt: skip


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["sandbox"]


def _refusal(body: dict[str, Any]) -> str | None:
    """Why Callbell would refuse this message (422), or None."""
    state = _state()
    missing = [k for k in ("from", "to", "type", "content", "channel_uuid") if not body.get(k)]
    if missing:
        return f"missing required parameters: {', '.join(missing)}"
    extra = sorted(set(body) - set(MESSAGE_FIELDS))
    if extra:
        return f"unknown parameters: {', '.join(extra)}"
    if not any(c["uuid"] == body["channel_uuid"] for c in state.config["channels"]):
        return f"unknown channel: {body['channel_uuid']}"
    if "template_uuid" in body or "optin_contact" in body:
        template = next(
            (t for t in state.config["templates"] if t["uuid"] == body.get("template_uuid")), None
        )
        if template is None:
            return f"unknown template: {body.get('template_uuid')}"
        if template.get("status") != "approved":
            return f"template not approved: {template['uuid']}"
        if body.get("optin_contact") is not True:
            return "a template message needs optin_contact: true"
        values = body.get("template_values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return "template_values must be an array of strings"
    if len(body.get("metadata") or {}) > 10:
        return "metadata takes at most 10 keys"
    unknown = state.unknown("users", [body["assigned_user"]] if body.get("assigned_user") else [])
    return f"unknown users: {', '.join(unknown)}" if unknown else None


@bp.post("/v1/messages/send")
def send() -> Response:
    body = request.get_json()
    refusal = _refusal(body)
    if refusal:
        return error(422, refusal)
    message = {
        "uuid": uuid.uuid4().hex,
        "status": "enqueued",
        "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{k: body[k] for k in MESSAGE_FIELDS if k in body},
    }
    state = _state()
    with state.lock:
        state.messages[message["uuid"]] = message
    if state.config["webhook_url"]:
        threading.Thread(target=_report, args=(state, message["uuid"]), daemon=True).start()
    return jsonify(message={"uuid": message["uuid"], "status": "enqueued"})


def _report(state: Any, message_uuid: str) -> None:
    """Move the message on to sent, then to its outcome, posting a signed webhook for each."""
    for status in ("sent", state.config["message_outcome"]):
        time.sleep(0.2)
        with state.lock:
            message = state.messages.get(message_uuid)
            if message is None:
                return
            message["status"] = status
            payload = {k: message[k] for k in ("uuid", "status", "to", "metadata") if k in message}
        body = json.dumps({"event": "message_status_updated", "payload": payload}).encode()
        stamp = str(int(time.time()))
        digest = hmac.new(
            state.config["webhook_secret"].encode(), f"{stamp}.".encode() + body, hashlib.sha256
        )
        headers = {
            "Content-Type": "application/json",
            "X-Callbell-Signature": f"t={stamp},v1={digest.hexdigest()}",
        }
        try:  # like Callbell, retry a failed delivery a few times
            for _ in range(3):
                if requests.post(state.config["webhook_url"], data=body, headers=headers, timeout=5).ok:
                    break
                time.sleep(0.5)
        except requests.RequestException:
            pass


@bp.get("/v1/messages/status/<message_uuid>")
def status(message_uuid: str) -> Response:
    message = _state().messages.get(message_uuid)
    if message is None:
        return error(404, "message not found")
    return jsonify(message={"uuid": message_uuid, "status": message["status"]})


@bp.get("/v1/templates")
def templates() -> Response:
    return jsonify(templates=_state().config["templates"])


@bp.get("/v1/channels")
def channels() -> Response:
    return jsonify(channels=_state().config["channels"])


@bp.get("/v1/teams")
def teams() -> Response:
    return jsonify(teams=[{"uuid": name, "name": name} for name in _state().config["teams"]])


@bp.get("/v1/teams/<team_uuid>/members")
def members(team_uuid: str) -> Response:
    team = _state().config["teams"].get(team_uuid)
    if team is None:
        return error(404, "team not found")
    wanted = request.args.get("status")
    return jsonify(members=[m for m in team if not wanted or m.get("status") == wanted])


@bp.get("/_sandbox/messages")
def sandbox_messages() -> Response:
    state = _state()
    with state.lock:
        return jsonify(messages=list(state.messages.values()))
