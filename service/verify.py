"""Sender verification schemes, one function each, chosen per source by `auth = "..."`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.errors import VerificationError


@dataclass(frozen=True)
class Inbound:
    """The parts of a request that verification may look at (raw bytes, never re-serialised)."""

    method: str
    url: str
    headers: Mapping[str, str]
    args: Mapping[str, str]
    body: bytes


def verify_none(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Accept every sender (plain HTML forms: protect them with a honeypot and rate limits)."""


def verify_api_key(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Accept a shared key from `X-Api-Key`, `Authorization: Bearer` or `?key=`."""
    offered = (
        inbound.headers.get("X-Api-Key") or bearer_token(inbound.headers) or inbound.args.get("key") or ""
    )
    if not offered:
        raise VerificationError("missing API key: send X-Api-Key, Authorization: Bearer or ?key=")
    if not matches_any(offered, secrets):
        raise VerificationError("the API key does not match")


def matches_any(offered: str, secrets: tuple[str, ...]) -> bool:
    """Compare in constant time against every configured secret (several during a rotation)."""
    return _equals_one(offered, list(secrets))


def bearer_token(headers: Mapping[str, str]) -> str:
    """Return the token of an `Authorization: Bearer` header, or an empty string."""
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# Signed requests older or newer than this are refused, so a captured request cannot be replayed later.
TOLERANCE_SECONDS = 300


def _hmac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 digest."""
    return hmac.new(key, message, hashlib.sha256).digest()


def _fresh(timestamp: str, unit: float, header: str) -> None:
    """Refuse a missing, unreadable, expired or future timestamp (`unit`: 1 for seconds, 1000 for ms)."""
    try:
        sent = float(timestamp) / unit
    except (TypeError, ValueError):
        raise VerificationError(f"missing or unreadable {header}") from None
    if abs(time.time() - sent) > TOLERANCE_SECONDS:
        raise VerificationError(f"{header} is more than 5 minutes from now: expired or replayed request")


def _expect_any(offered: str, expected: list[str], what: str) -> None:
    """Accept when the offered signature equals one computed with any configured secret."""
    if not offered:
        raise VerificationError(f"missing {what}")
    if not _equals_one(offered, expected):
        raise VerificationError(f"{what} does not match")


def _equals_one(offered: str, expected: list[str]) -> bool:
    """Constant-time comparison against every candidate, with no early exit."""
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(offered.encode(), candidate.encode())
    return found


def verify_standard_webhooks(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Standard Webhooks: `v1,<base64 HMAC>` entries over `id.timestamp.body`, secrets `whsec_<base64>`."""
    msg_id = inbound.headers.get("webhook-id", "")
    stamp = inbound.headers.get("webhook-timestamp", "")
    if not msg_id:
        raise VerificationError("missing webhook-id")
    _fresh(stamp, 1, "webhook-timestamp")
    signed = f"{msg_id}.{stamp}.".encode() + inbound.body
    expected = [base64.b64encode(_hmac(_whsec_key(s), signed)).decode() for s in secrets]
    offered = [
        part.split(",", 1)[1]
        for part in inbound.headers.get("webhook-signature", "").split()
        if part.startswith("v1,")
    ]
    if not offered:
        raise VerificationError("missing webhook-signature")
    if not any([_equals_one(one, expected) for one in offered]):  # a list: every entry is compared
        raise VerificationError("webhook-signature does not match")


def _whsec_key(secret: str) -> bytes:
    """The key bytes of a `whsec_<base64>` secret (a secret without the prefix is used as given)."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :])
        except ValueError:
            pass
    return secret.encode()


def verify_typeform(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Typeform: `Typeform-Signature: sha256=<base64 HMAC of the body>`."""
    expected = ["sha256=" + base64.b64encode(_hmac(s.encode(), inbound.body)).decode() for s in secrets]
    _expect_any(inbound.headers.get("Typeform-Signature", ""), expected, "Typeform-Signature")


def verify_tally(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Tally: `Tally-Signature: <base64 HMAC of the body>`."""
    expected = [base64.b64encode(_hmac(s.encode(), inbound.body)).decode() for s in secrets]
    _expect_any(inbound.headers.get("Tally-Signature", ""), expected, "Tally-Signature")


def verify_webflow(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Webflow: hex HMAC of `<timestamp ms>:<body>` in `x-webflow-signature`, timestamp within 5 min."""
    stamp = inbound.headers.get("x-webflow-timestamp", "")
    _fresh(stamp, 1000, "x-webflow-timestamp")
    signed = f"{stamp}:".encode() + inbound.body
    expected = [_hmac(s.encode(), signed).hex() for s in secrets]
    _expect_any(inbound.headers.get("x-webflow-signature", ""), expected, "x-webflow-signature")


def verify_meta(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Meta: `X-Hub-Signature-256: sha256=<hex HMAC of the body with the app secret>`."""
    expected = ["sha256=" + _hmac(s.encode(), inbound.body).hex() for s in secrets]
    _expect_any(inbound.headers.get("X-Hub-Signature-256", ""), expected, "X-Hub-Signature-256")


def verify_google_key(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Google Ads lead forms: the body's `google_key` (older samples: `Google_key`) equals the form's key."""
    try:
        body = json.loads(inbound.body)
    except (ValueError, UnicodeDecodeError):
        raise VerificationError("body is not JSON, so it carries no google_key") from None
    offered = body.get("google_key") or body.get("Google_key") if isinstance(body, dict) else None
    if not isinstance(offered, str) or not offered:
        raise VerificationError("missing google_key in the body")
    if not matches_any(offered, secrets):
        raise VerificationError("google_key does not match")


def verify_hubspot_v3(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """HubSpot v3: base64 HMAC of method + URI + body + timestamp, timestamp (ms) within 5 minutes."""
    stamp = inbound.headers.get("X-HubSpot-Request-Timestamp", "")
    _fresh(stamp, 1000, "X-HubSpot-Request-Timestamp")
    signed = inbound.method.encode() + inbound.url.encode() + inbound.body + stamp.encode()
    expected = [base64.b64encode(_hmac(s.encode(), signed)).decode() for s in secrets]
    _expect_any(inbound.headers.get("X-HubSpot-Signature-v3", ""), expected, "X-HubSpot-Signature-v3")


def verify_callbell(inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Callbell's own webhooks: `X-Callbell-Signature: t=<unix s>,v1=<hex HMAC of "t.body">`."""
    parts = dict(
        part.strip().split("=", 1)
        for part in inbound.headers.get("X-Callbell-Signature", "").split(",")
        if "=" in part
    )
    _fresh(parts.get("t", ""), 1, "X-Callbell-Signature timestamp")
    signed = f"{parts['t']}.".encode() + inbound.body
    _expect_any(
        parts.get("v1", ""), [_hmac(s.encode(), signed).hex() for s in secrets], "X-Callbell-Signature"
    )


def stored_body(scheme: str, body: bytes) -> bytes:
    """The body as it may be stored: schemes that carry their secret in the body have it removed."""
    if scheme != "google_key":
        return body
    data = json.loads(body)
    for key in ("google_key", "Google_key"):
        data.pop(key, None)
    return json.dumps(data).encode()


Scheme = Callable[[Inbound, tuple[str, ...]], None]

SCHEMES: dict[str, Scheme] = {
    "none": verify_none,
    "api_key": verify_api_key,
    "standard_webhooks": verify_standard_webhooks,
    "typeform": verify_typeform,
    "tally": verify_tally,
    "webflow": verify_webflow,
    "meta": verify_meta,
    "google_key": verify_google_key,
    "hubspot_v3": verify_hubspot_v3,
}
SCHEMES_WITHOUT_SECRET = frozenset({"none"})


def verify(scheme: str, inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Verify a request with the named scheme; raise VerificationError when it fails."""
    SCHEMES[scheme](inbound, secrets)
