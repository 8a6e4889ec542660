"""Callbell's own webhooks: a welcome message's later status (sent, delivered, read, failed) on its lead.

Callbell signs its webhooks when the subscription has a signing secret; this endpoint accepts only
signed ones (CALLBELL_WEBHOOK_SECRET), and is off (404) without a secret. Callbell documents the
events but not their body: the message is read from `payload` (or the top level), by its `uuid`,
and its lead from the `metadata.lead_id` leadrelay sent with it, checked against the lead's own
record of the message's uuid.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, jsonify, request

from service import lead_index, metrics
from service.errors import VerificationError
from service.keys import Welcome, lead_key
from service.problems import problem
from service.runtime import runtime
from service.verify import Inbound, verify_callbell

STATUSES = ("enqueued", "sent", "delivered", "read", "failed")


def init_app(app: Flask, path: str) -> None:
    """Answer Callbell's webhooks on `path` (the subscription's URL names it)."""
    app.add_url_rule(path, "callbell_events", receive, methods=["POST"])


def receive() -> Response | tuple[Response, int]:
    """Verify a Callbell webhook and record a welcome's new status on its lead."""
    rt = runtime()
    secrets = tuple(rt.settings.callbell_webhook_secret.split())
    if not secrets:
        return problem(404, "Callbell webhooks are off: set CALLBELL_WEBHOOK_SECRET to turn them on")
    raw = request.get_data(cache=False)
    try:
        verify_callbell(Inbound(request.method, request.url, request.headers, request.args, raw), secrets)
    except VerificationError as exc:
        return problem(401, str(exc))
    try:
        event = json.loads(raw)
    except ValueError:
        return problem(400, "the body is not JSON")
    if not isinstance(event, dict):
        return problem(400, "the body is not a JSON object")
    if event.get("event") != "message_status_updated":
        return jsonify(recorded=False, reason="not an event leadrelay records")
    return jsonify(recorded=_record(rt, event.get("payload", event)))


def _record(rt: Any, message: Any) -> bool:
    """Write the message's status on the lead whose welcome it is; False when it is none of ours."""
    if not isinstance(message, dict):
        return False
    message_uuid, status = str(message.get("uuid", "")), str(message.get("status", ""))
    lead_id = str((message.get("metadata") or {}).get("lead_id", ""))
    if not (message_uuid and lead_id and status in STATUSES):
        return False
    key = lead_key(lead_id)
    if rt.redis.hget(key, "welcome_uuid") != message_uuid.encode():
        return False  # not the welcome this lead sent (or the lead has expired)
    with rt.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"welcome_status": status, "welcome_status_at": time.time()})
        metrics.count(pipe, metrics.WELCOME_STATUSES, status=status)
        if status == "failed":  # Callbell's word: accepted, then not delivered; a person should look
            lead_index.count(pipe, "welcome", "failed_after_send")
            pipe.zadd(lead_index.welcome_index(Welcome.FAILED), {lead_id: time.time()})
        pipe.execute()
    return True
