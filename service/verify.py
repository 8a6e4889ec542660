"""Sender verification schemes, one function each, chosen per source by `auth = "..."`."""

from __future__ import annotations

import hmac
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
    offered = inbound.headers.get("X-Api-Key") or _bearer(inbound.headers) or inbound.args.get("key") or ""
    if not offered:
        raise VerificationError("missing API key: send X-Api-Key, Authorization: Bearer or ?key=")
    if not matches_any(offered, secrets):
        raise VerificationError("the API key does not match")


def matches_any(offered: str, secrets: tuple[str, ...]) -> bool:
    """Compare in constant time against every configured secret (several during a rotation)."""
    found = False
    for secret in secrets:
        # No early exit: the time taken must not say which secret came close.
        found |= hmac.compare_digest(offered.encode(), secret.encode())
    return found


def _bearer(headers: Mapping[str, str]) -> str:
    """Return the token of an `Authorization: Bearer` header, or an empty string."""
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


Scheme = Callable[[Inbound, tuple[str, ...]], None]

SCHEMES: dict[str, Scheme] = {
    "none": verify_none,
    "api_key": verify_api_key,
}
SCHEMES_WITHOUT_SECRET = frozenset({"none"})


def verify(scheme: str, inbound: Inbound, secrets: tuple[str, ...]) -> None:
    """Verify a request with the named scheme; raise VerificationError when it fails."""
    SCHEMES[scheme](inbound, secrets)
