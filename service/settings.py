"""Settings read once from the environment (or a mapping in tests) and validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit, urlunsplit

from service.errors import ConfigError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_CALLBELL_API_URL = "https://api.callbell.eu/v1"
# Big enough for any form or webhook we know of, small enough that a flood cannot fill memory.
DEFAULT_MAX_BODY_BYTES = 262_144
# Lead records live this long; dead letters are kept longer so an operator has time to act.
DEFAULT_LEAD_RETENTION_DAYS = 30
DEFAULT_DEAD_LETTER_RETENTION_DAYS = 90
# Callbell rejects above 300 requests/s per account; stay clearly below it.
DEFAULT_CALLBELL_MAX_RPS = 250.0
# Senders retry for hours and people double-click: a copy within this window is answered, not stored.
DEFAULT_DEDUP_WINDOW_HOURS = 24
DEFAULT_META_GRAPH_API_URL = "https://graph.facebook.com/v21.0"
# A delivery makes at most two Callbell requests, each bounded by the client's timeouts, plus
# rate-limiter waits; a job running longer than this is stuck and is stopped.
DEFAULT_JOB_TIMEOUT = 60
# Seconds to wait for Callbell's answer (the connect timeout is the client's own, 3.05 s).
DEFAULT_READ_TIMEOUT = 10.0
# Seconds before attempt 2, 3, ...: quick first retries so a blip costs seconds, then spreading out
# so a Callbell outage of a day is survived (the sum is about 27.7 hours; 12 attempts in all).
DEFAULT_RETRY_SCHEDULE = (2, 10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
# The API's gunicorn: intake does no outbound HTTP, so one process per core with a few threads each
# for Redis waits (`leadrelay serve --workers/--threads`, WEB_CONCURRENCY, LEADRELAY_WEB_THREADS).
DEFAULT_WEB_WORKERS = 2
DEFAULT_WEB_THREADS = 4


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service, each falling back to an environment variable."""

    redis_url: str = DEFAULT_REDIS_URL
    callbell_api_url: str = DEFAULT_CALLBELL_API_URL
    callbell_api_token: str = ""
    sources_path: str = ""
    admin_token: str = ""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    lead_retention_days: int = DEFAULT_LEAD_RETENTION_DAYS
    dead_letter_retention_days: int = DEFAULT_DEAD_LETTER_RETENTION_DAYS
    callbell_max_rps: float = DEFAULT_CALLBELL_MAX_RPS
    queue_name: str = "leadrelay"
    job_timeout: int = DEFAULT_JOB_TIMEOUT
    callbell_read_timeout: float = DEFAULT_READ_TIMEOUT
    retry_schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    dedup_window_hours: int = DEFAULT_DEDUP_WINDOW_HOURS
    meta_graph_api_url: str = DEFAULT_META_GRAPH_API_URL
    public_url: str = ""
    console_password: str = ""  # signs in to /console (the admin token does too)
    # Callbell's own webhooks (message status): their signing secret(s), and the path they post to.
    callbell_webhook_secret: str = ""
    callbell_webhook_path: str = "/v1/callbell/events"

    @classmethod
    def load(cls, overrides: Mapping[str, object] | None = None) -> Settings:
        """Build settings from the environment, then apply explicit overrides (tests, CLI)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            env_name = ENV_NAMES[f.name]
            if env_name in os.environ:
                values[f.name] = os.environ[env_name]
        for key, value in (overrides or {}).items():
            if key not in ENV_NAMES:
                raise ConfigError(f"{key}: unknown setting")
            values[key] = value
        return cls(**{name: _coerce(name, raw) for name, raw in values.items()})


ENV_NAMES = {
    "redis_url": "REDIS_URL",
    "callbell_api_url": "CALLBELL_API_URL",
    "callbell_api_token": "CALLBELL_API_TOKEN",
    "sources_path": "LEADRELAY_SOURCES",
    "admin_token": "LEADRELAY_ADMIN_TOKEN",
    "max_body_bytes": "LEADRELAY_MAX_BODY_BYTES",
    "lead_retention_days": "LEADRELAY_LEAD_RETENTION_DAYS",
    "dead_letter_retention_days": "LEADRELAY_DEAD_LETTER_RETENTION_DAYS",
    "callbell_max_rps": "CALLBELL_MAX_RPS",
    "queue_name": "LEADRELAY_QUEUE",
    "job_timeout": "LEADRELAY_JOB_TIMEOUT",
    "callbell_read_timeout": "CALLBELL_READ_TIMEOUT",
    "retry_schedule": "LEADRELAY_RETRY_SCHEDULE",
    "dedup_window_hours": "LEADRELAY_DEDUP_WINDOW_HOURS",
    "meta_graph_api_url": "META_GRAPH_API_URL",
    "public_url": "LEADRELAY_PUBLIC_URL",
    "console_password": "LEADRELAY_CONSOLE_PASSWORD",
    "callbell_webhook_secret": "CALLBELL_WEBHOOK_SECRET",
    "callbell_webhook_path": "LEADRELAY_CALLBELL_WEBHOOK_PATH",
}


def _coerce(name: str, raw: object) -> object:
    """Convert one raw value to the field's type, naming the variable when it does not fit."""
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "tuple[int, ...]":
            return parse_schedule(raw)
        if kind == "int":
            value = int(raw)  # type: ignore[arg-type]
            if value <= 0:
                raise ValueError("must be greater than 0")
            return value
        if kind == "float":
            value = float(raw)  # type: ignore[arg-type]
            if value <= 0:
                raise ValueError("must be greater than 0")
            return value
        if name in URL_SCHEMES:
            return check_url(str(raw), URL_SCHEMES[name])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{ENV_NAMES[name]}: {exc}") from exc
    return str(raw)


# Settings that hold a URL, and the schemes each accepts; a bad one stops start-up with its name.
URL_SCHEMES = {
    "redis_url": ("redis", "rediss", "unix"),
    "callbell_api_url": ("https", "http"),
    "meta_graph_api_url": ("https", "http"),
    "public_url": ("https", "http"),
}


def check_url(value: str, schemes: tuple[str, ...]) -> str:
    """Return `value` if it is a URL with one of `schemes` and a host; raise ValueError saying why not."""
    if not value and schemes[0] == "https":
        return value  # optional URLs (the public URL) may be empty
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        example = "redis://host:6379/0" if "redis" in schemes else "https://host/path"
        kinds = f"{', '.join(schemes[:-1])} or {schemes[-1]}"
        raise ValueError(f"{mask_url(value)!r} is not a {kinds} URL (e.g. {example})")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"{mask_url(value)!r} names no host")
    return value


def parse_schedule(raw: object) -> tuple[int, ...]:
    """Read a retry schedule, `"2,10,30"` seconds (or a sequence of them); empty gives the default."""
    if isinstance(raw, tuple | list):
        parts = [str(p) for p in raw]
    else:
        parts = [p for p in str(raw).split(",") if p.strip()] if str(raw).strip() else []
    if not parts:
        return DEFAULT_RETRY_SCHEDULE
    try:
        schedule = tuple(int(part) for part in parts)
    except ValueError:
        raise ValueError(f"{raw!r} is not a comma-separated list of seconds") from None
    if any(s <= 0 for s in schedule):
        raise ValueError("every delay must be greater than 0")
    return schedule


def mask_url(url: str) -> str:
    """The URL with any password replaced by `***`, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url
