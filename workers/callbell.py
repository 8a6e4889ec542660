"""The Callbell API client: one keep-alive session, bounded timeouts, every exchange recorded."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from service.settings import DEFAULT_READ_TIMEOUT
from workers.ratelimit import CallbellRateLimit

BODY_EXCERPT_CHARS = 500  # enough of an undocumented error body to diagnose, bounded in size
DEFAULT_CONNECT_TIMEOUT = 3.05


@dataclass
class UpstreamError(Exception):
    """A request to Callbell or the Graph API that failed; `status` is None when no answer came."""

    request: str
    status: int | None
    detail: str
    retry_after: float | None = None
    # False when the request certainly never reached the server (no connection was made); None when
    # it may have (no answer, or an answer that says nothing about what was done).
    sent: bool | None = None

    def __str__(self) -> str:
        return f"{self.request}: {self.detail}"


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header given in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def contact_of(body: Any) -> dict[str, Any] | None:
    """Return the contact of an answer, whether Callbell wrapped it in a one-element array or not."""
    contact = body.get("contact") if isinstance(body, dict) else None
    if isinstance(contact, list):
        contact = contact[0] if contact else None
    return contact if isinstance(contact, dict) else None


class CallbellClient:
    """Talks to Callbell's contacts API; each call appends what happened to `log`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        limiter: CallbellRateLimit,
        user_agent: str,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ):
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout = (DEFAULT_CONNECT_TIMEOUT, read_timeout)
        self.session = requests.Session()
        # Proxy, netrc and CA settings from the environment are read once here, not on every
        # request (requests re-reads them per call: a third of its CPU per request).
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle
        self.session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        log: list[dict[str, Any]],
        body: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> requests.Response | None:
        """Send one request under the shared rate limit; raise UpstreamError unless it is 2xx.

        With `missing_ok`, a 404 answers None (a look-up that found nothing).
        """
        waited = self.limiter.acquire()
        started = time.monotonic()
        entry: dict[str, Any] = {"at": time.time(), "request": kind, "status": None}
        if waited:
            entry["rate_limit_wait_ms"] = round(waited * 1000, 1)
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", json=body, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            entry.update(duration_ms=_ms(started), error=type(exc).__name__)
            log.append(entry)
            raise UpstreamError(
                kind, None, f"no answer ({type(exc).__name__})", sent=False if _never_sent(exc) else None
            ) from exc
        entry.update(status=response.status_code, duration_ms=_ms(started))
        if response.status_code // 100 != 2:
            entry["body"] = response.text[:BODY_EXCERPT_CHARS]
        log.append(entry)
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code // 100 != 2:
            raise UpstreamError(
                kind,
                response.status_code,
                f"HTTP {response.status_code}",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        return response


def _never_sent(exc: requests.RequestException) -> bool:
    """True when no connection was made, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(reason, NewConnectionError)


def _ms(started: float) -> float:
    """Milliseconds since `started` (a monotonic time)."""
    return round((time.monotonic() - started) * 1000, 1)


def with_answer(reason: str, exchanges: list[dict[str, Any]]) -> str:
    """The reason with what Callbell said (`unknown tags: Enterprise`), so dead letters group by cause."""
    body = (exchanges[-1].get("body") or "") if exchanges else ""
    try:
        said = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        said = body.strip()[:120]
    return f"{reason}: {said}" if said else reason
