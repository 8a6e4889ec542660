"""JSON log lines with personal data masked and secrets scrubbed, for the API and the workers."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

_CONFIGURED = "_leadrelay_handler"


def mask_phone(phone: str | None) -> str:
    """Keep the country code and the last two digits: `14155550100` -> `141******00`."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 6:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mask_email(email: str | None) -> str:
    """Keep the first letter and the domain: `ada@example.com` -> `a***@example.com`."""
    local, _, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_name(name: str | None) -> str:
    """Keep each word's initial: `Ada Lovelace` -> `A*** L***`."""
    return " ".join(f"{word[:1]}***" for word in (name or "").split()) or "***"


class ScrubbingFormatter(JsonFormatter):
    """A JSON formatter that replaces any configured secret found in the finished line."""

    def __init__(self, secrets: Iterable[str], *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Short values are not secrets worth the false positives (and would mangle ordinary words).
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self.secrets:
            line = line.replace(secret, "[secret]")
        return line


def configure(secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    """Send every log record to stdout as one JSON object per line (once per process)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _CONFIGURED, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        ScrubbingFormatter(
            secrets,
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    setattr(handler, _CONFIGURED, True)
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Give each request an id (kept from `X-Request-ID` when sent) and log one line per request."""
    log = logging.getLogger("leadrelay.http")

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        offered = request.headers.get("X-Request-ID", "")
        g.request_id = offered if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", offered) else uuid.uuid4().hex[:16]

    @app.after_request
    def _log(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.path in ("/healthz", "/readyz", "/metrics"):
            return response  # probes every few seconds would drown the lines that matter
        log.info(
            "request",
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "source": g.get("source"),
                "lead_id": g.get("lead_id"),
                "outcome": g.get("outcome"),
                "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            },
        )
        return response
