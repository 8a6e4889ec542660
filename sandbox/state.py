"""The sandbox's in-memory world: contacts, settings, a sliding-window rate limit and request stats."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

# A held ("timed out") request answers after this long: far beyond any sane client read timeout.
DEFAULT_HOLD_SECONDS = 30.0


DEFAULT_TEMPLATES = (
    {"uuid": "tpl-welcome", "name": "welcome", "status": "approved", "category": "MARKETING"},
)
DEFAULT_CHANNELS = ({"uuid": "chan-whatsapp", "type": "whatsapp", "title": "Main", "active": True},)


class SandboxConfigSchema(Schema):
    """Run-time settings; the keys are the CLI option names with underscores."""

    class Meta:
        unknown = RAISE

    token = fields.String(load_default="")
    latency_ms = fields.Float(load_default=0.0, validate=validate.Range(min=0))
    jitter_ms = fields.Float(load_default=0.0, validate=validate.Range(min=0))
    error_rate = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=1))
    timeout_rate = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=1))
    hold_seconds = fields.Float(load_default=DEFAULT_HOLD_SECONDS, validate=validate.Range(min=0))
    rps_limit = fields.Integer(load_default=300, validate=validate.Range(min=1))
    retry_after_seconds = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    tags = fields.List(fields.String(), allow_none=True, load_default=None)
    custom_fields = fields.List(fields.String(), allow_none=True, load_default=None)
    users = fields.List(fields.String(), allow_none=True, load_default=None)
    # The worst case of what Callbell leaves undocumented: a second POST for a known phone creates a
    # second contact instead of being refused, so tests can prove leadrelay never relies on a refusal.
    duplicate_contacts = fields.Boolean(load_default=False)
    # The paths injected errors and timeouts apply to (prefixes under /v1, e.g. "/messages"); none: all.
    fault_paths = fields.List(fields.String(), allow_none=True, load_default=None)
    # The account's WhatsApp templates, channels and teams (members with their availability).
    templates = fields.List(fields.Dict(), load_default=lambda: [dict(t) for t in DEFAULT_TEMPLATES])
    channels = fields.List(fields.Dict(), load_default=lambda: [dict(c) for c in DEFAULT_CHANNELS])
    teams = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()), load_default=dict)
    # Where the account's webhook subscription posts message_status_updated events, signed with
    # webhook_secret (none: no webhooks); each message ends `message_outcome` after "sent".
    webhook_url = fields.String(allow_none=True, load_default=None)
    webhook_secret = fields.String(load_default="")
    message_outcome = fields.String(
        load_default="delivered", validate=validate.OneOf(["delivered", "failed"])
    )


def digits(phone: str) -> str:
    """Compare phone numbers by digits only, as `+331...` and `331...` name one contact."""
    return "".join(ch for ch in phone if ch.isdigit())


class SandboxState:
    """Everything the sandbox remembers; every method is safe to call from many threads."""

    def __init__(self, config: dict[str, Any]):
        self.lock = threading.Lock()
        self.config = SandboxConfigSchema().load(config)
        self.reset()

    def reset(self) -> None:
        """Forget every contact and every statistic."""
        with self.lock:
            self.contacts: dict[str, dict[str, Any]] = {}
            self.by_phone: dict[str, str] = {}
            self.window: deque[float] = deque()
            self.requests: Counter[tuple[str, int]] = Counter()
            self.rate_limited = 0
            self.peak_window = 0
            self.first_at = self.last_at = 0.0  # wall-clock times of the first and last request admitted
            self.in_flight = 0
            self.messages: dict[str, dict[str, Any]] = {}

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply run-time changes (validated) and return the whole configuration."""
        loaded = SandboxConfigSchema(partial=True).load(changes)
        with self.lock:
            self.config.update({k: v for k, v in loaded.items() if k in changes})
            return dict(self.config)

    def admit(self, now: float | None = None) -> bool:
        """Count a request against the limit of any one-second window; False means answer 429."""
        now = time.monotonic() if now is None else now
        with self.lock:
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            if len(self.window) >= self.config["rps_limit"]:
                self.rate_limited += 1
                return False
            self.window.append(now)
            self.peak_window = max(self.peak_window, len(self.window))
            self.last_at = time.time()
            self.first_at = self.first_at or self.last_at
            return True

    def begin(self) -> None:
        """Note a request that has started and not yet been answered."""
        with self.lock:
            self.in_flight += 1

    def end(self) -> None:
        """Note a request that has been answered (or abandoned)."""
        with self.lock:
            self.in_flight = max(self.in_flight - 1, 0)

    def count(self, endpoint: str, status: int) -> None:
        """Record one answered request."""
        with self.lock:
            self.requests[(endpoint, status)] += 1

    def stats(self) -> dict[str, Any]:
        """Requests by endpoint and status, 429s, the busiest one-second window."""
        with self.lock:
            by_endpoint: dict[str, dict[str, int]] = {}
            for (endpoint, status), n in sorted(self.requests.items()):
                by_endpoint.setdefault(endpoint, {})[str(status)] = n
            return {
                "requests": by_endpoint,
                "total": sum(self.requests.values()),
                "rate_limited": self.rate_limited,
                "peak_requests_per_second": self.peak_window,
                "first_request_at": self.first_at,
                "last_request_at": self.last_at,
                "in_flight": self.in_flight,
                "contacts": len(self.contacts),
            }

    def unknown(self, kind: str, names: list[str]) -> list[str]:
        """Return the names the account does not know (none when no list was configured)."""
        known = self.config[kind]
        return [] if known is None else sorted(set(names) - set(known))

    def create(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Create a contact; None when one with that identifier exists already (unless duplicates are on)."""
        with self.lock:
            key = digits(body["identifier"])
            if key in self.by_phone and not self.config["duplicate_contacts"]:
                return None
            contact_uuid = uuid.uuid4().hex
            contact = {
                "uuid": contact_uuid,
                "name": body["name"],
                "phoneNumber": body["identifier"],
                "avatarUrl": None,
                "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "source": body["source"],
                "href": f"https://dash.callbell.eu/contacts/{contact_uuid}",
                "tags": list(body.get("tags") or []),
                "assignedUser": body.get("assigned_user"),
                "customFields": dict(body.get("custom_fields") or {}),
            }
            self.contacts[contact_uuid] = contact
            self.by_phone.setdefault(key, contact_uuid)  # a look-up finds the first
            return dict(contact)

    def find_phone(self, phone: str) -> dict[str, Any] | None:
        """Look a contact up by phone number."""
        with self.lock:
            contact_uuid = self.by_phone.get(digits(phone))
            return dict(self.contacts[contact_uuid]) if contact_uuid else None

    def get(self, contact_uuid: str) -> dict[str, Any] | None:
        """Look a contact up by uuid."""
        with self.lock:
            contact = self.contacts.get(contact_uuid)
            return dict(contact) if contact else None

    def update(self, contact_uuid: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Apply a PATCH: tags and custom fields are replaced by what is sent."""
        with self.lock:
            contact = self.contacts.get(contact_uuid)
            if contact is None:
                return None
            renames = {
                "name": "name",
                "tags": "tags",
                "custom_fields": "customFields",
                "assigned_user": "assignedUser",
            }
            for key, target in renames.items():
                if key in body:
                    contact[target] = body[key]
            if body.get("unassign_user"):
                contact["assignedUser"] = None
            return dict(contact)

    def all_contacts(self) -> list[dict[str, Any]]:
        """Every contact, oldest first."""
        with self.lock:
            return [dict(c) for c in self.contacts.values()]
