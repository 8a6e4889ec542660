"""The Callbell API client: one keep-alive session, bounded timeouts, every exchange recorded."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies

from service.settings import DEFAULT_READ_TIMEOUT
from workers.ratelimit import CallbellRateLimit, Fence

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


@dataclass(frozen=True)
class Answer:
    """Callbell's answer to one request: its status, headers and body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.content)


class CallbellClient:
    """Talks to Callbell's contacts API; each call appends what happened to `log`.

    It speaks HTTP through urllib3's pool directly: requests' extra layers (hooks, cookies, settings
    merged on every call) cost as much CPU per request as the HTTP exchange itself, and a worker
    sends two requests a lead.
    """

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
        self.timeout = urllib3.Timeout(connect=DEFAULT_CONNECT_TIMEOUT, read=read_timeout)
        self.headers = {"Accept": "application/json", "User-Agent": user_agent}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        # Proxy and CA settings come from the environment, as requests reads them (HTTPS_PROXY,
        # NO_PROXY, REQUESTS_CA_BUNDLE), once per client.
        ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
        proxy = get_environ_proxies(self.base_url).get(urlsplit(self.base_url).scheme)
        options = {"num_pools": 2, "maxsize": 4, "ca_certs": ca, "retries": False}
        if proxy:
            self.pool: Any = urllib3.ProxyManager(proxy, **options)
            self.prefix = self.base_url  # a proxy is sent the whole URL
        else:  # one host: its connection pool, without the manager's per-request URL parsing
            self.pool = urllib3.PoolManager(**options).connection_from_url(self.base_url)
            self.prefix = urlsplit(self.base_url).path

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        log: list[dict[str, Any]],
        body: dict[str, Any] | None = None,
        missing_ok: bool = False,
        fence: Fence | None = None,
        mark: str = "",
    ) -> Answer | None:
        """Send one request under the shared rate limit; raise UpstreamError unless it is 2xx.

        With `missing_ok`, a 404 answers None (a look-up that found nothing). With a `fence`, the
        request goes only while the delivery holds its lease (LeaseLost otherwise), and `mark` is
        set on its lead as it goes.
        """
        waited = self.limiter.acquire(fence, mark)
        started = time.monotonic()
        entry: dict[str, Any] = {"at": time.time(), "request": kind, "status": None}
        if waited:
            entry["rate_limit_wait_ms"] = round(waited * 1000, 1)
        headers = self.headers
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers = {**headers, "Content-Type": "application/json"}
        try:
            raw = self.pool.urlopen(
                method,
                f"{self.prefix}{path}",
                body=payload,
                headers=headers,
                timeout=self.timeout,
                redirect=False,
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            entry.update(duration_ms=_ms(started), error=_error_name(exc))
            log.append(entry)
            raise UpstreamError(
                kind, None, f"no answer ({_error_name(exc)})", sent=False if _never_sent(exc) else None
            ) from exc
        response = Answer(raw.status, raw.headers, raw.data)
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


def _never_sent(exc: urllib3.exceptions.HTTPError) -> bool:
    """True when no connection was made, so the server cannot have seen the request."""
    return isinstance(exc, urllib3.exceptions.ConnectTimeoutError)  # NewConnectionError is one too


def _error_name(exc: urllib3.exceptions.HTTPError) -> str:
    """What went wrong, in the words operators know from requests (ConnectionError, ReadTimeout)."""
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # refused (a subclass of the timeout)
        return "ConnectionError"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "SSLError"
    return "ConnectionError"


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
