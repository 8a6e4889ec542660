"""Fixtures: a private real Redis for the whole session, flushed around each test; apps built from TOML."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from sandbox.state import DEFAULT_CHANNELS, DEFAULT_TEMPLATES
from service import create_app
from service.embedded_redis import EmbeddedRedis

ADMIN_TOKEN = "test-admin-token"

DEFAULT_SOURCES = """
[defaults]
default_region = "US"

[sources.website]
preset = "form"
auth = "none"
tags = ["Website"]
[sources.website.custom_fields]
"Email" = "email"
"Interest" = "interest"

[sources.zapier]
preset = "json"
auth = "api_key"
secret_env = "TEST_ZAPIER_KEY"
tags = ["Zapier"]
assigned_user = "sales@example.com"
[sources.zapier.fields]
phone = "contact.mobile"
first_name = "contact.first"
last_name = "contact.last"
"""


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """Start a redis-server of our own on a free port; never the machine's shared one."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: EmbeddedRedis) -> Iterator[Redis]:
    """A client of the private server, emptied before and after each test."""
    client = Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture
def write_sources(tmp_path: Path) -> Callable[[str], str]:
    """Write a sources file and return its path."""

    def write(text: str) -> str:
        path = tmp_path / "sources.toml"
        path.write_text(textwrap.dedent(text))
        return str(path)

    return write


@pytest.fixture
def make_app(
    redis: Redis,
    redis_server: EmbeddedRedis,
    write_sources: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Flask]:
    """Build an app on the private Redis from a sources file text and setting overrides."""
    monkeypatch.setenv("TEST_ZAPIER_KEY", "zap-secret-1 zap-secret-2")

    def make(sources: str = DEFAULT_SOURCES, **settings: object) -> Flask:
        config = {
            "redis_url": redis_server.url,
            "sources_path": write_sources(sources),
            "admin_token": ADMIN_TOKEN,
            **settings,
        }
        app = create_app(config)
        app.testing = True
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app with the default test sources."""
    return make_app()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    """A test client of the default app."""
    return app.test_client()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    """Headers that carry the admin token."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


SANDBOX_DEFAULTS = {
    "token": "",
    "latency_ms": 0,
    "jitter_ms": 0,
    "error_rate": 0,
    "timeout_rate": 0,
    "hold_seconds": 30,
    "rps_limit": 300,
    "tags": None,
    "custom_fields": None,
    "users": None,
    "duplicate_contacts": False,
    "templates": [dict(t) for t in DEFAULT_TEMPLATES],
    "channels": [dict(c) for c in DEFAULT_CHANNELS],
    "teams": {},
    "fault_paths": None,
    "webhook_url": None,
    "webhook_secret": "",
    "message_outcome": "delivered",
}


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `leadrelay sandbox` process for the whole session; yields its /v1 base URL."""
    from service.embedded_redis import free_port
    from tests import procs

    port = free_port()
    log = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    process = procs.start(["sandbox", "--port", str(port)], log=log)
    procs.wait_http(f"http://127.0.0.1:{port}/healthz", process)
    yield f"http://127.0.0.1:{port}"
    procs.stop(process)


@pytest.fixture
def sandbox(sandbox_server: str) -> Iterator[str]:
    """The sandbox, emptied and back on its defaults before and after each test."""
    import requests

    def restore() -> None:
        requests.post(
            f"{sandbox_server}/_sandbox/config", json=SANDBOX_DEFAULTS, timeout=5
        ).raise_for_status()
        requests.post(f"{sandbox_server}/_sandbox/reset", timeout=5).raise_for_status()

    restore()
    yield sandbox_server
    restore()


@pytest.fixture
def worker_env(redis_server: EmbeddedRedis, sandbox: str) -> dict[str, str]:
    """Environment for worker processes: the private Redis, the sandbox, a fast retry schedule."""
    return {
        "REDIS_URL": redis_server.url,
        "CALLBELL_API_URL": f"{sandbox}/v1",
        "LEADRELAY_RETRY_SCHEDULE": "1,1,1",
        "LEADRELAY_JOB_TIMEOUT": "5",
        "CALLBELL_READ_TIMEOUT": "1",
        "CALLBELL_MAX_RPS": "250",
    }


@pytest.fixture
def start_worker(worker_env: dict[str, str], redis: Redis, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Start `leadrelay worker` processes; all are stopped after the test."""
    from tests import procs

    started = []

    def start(*args: str, **env: str):  # type: ignore[no-untyped-def]
        process = procs.start(["worker", *args], env={**worker_env, **env}, log=tmp_path / "worker.log")
        started.append(process)
        return process

    yield start
    for process in started:
        procs.stop(process)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> object:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:.0f}s")


def nothing_stored(redis: Redis) -> bool:
    """True when Redis holds no lead, job or dedup key (metrics counters may exist)."""
    return not [k for k in redis.keys("*") if not k.startswith(b"leadrelay:metrics:")]


# Values the tests send or configure that must never reach a log line in clear.
NEVER_LOGGED = (
    "hook-secret-1",
    "zap-secret-1",
    "zap-secret-2",
    ADMIN_TOKEN,
    "tok-secret-123",
    "s3cret-value",
    "meta-app-secret",
    "page-token-xyz",
    "callbell-token-abc123",
    "source-key-qwerty42",
    "admin-token-xyz789",
    "Lovelace",
    "ada@example.com",
    "4155550100",
    "Grace Hopper",
    "grace@example.com",
)


class _Capture(logging.Handler):
    """Keeps every log line of the test process, formatted as leadrelay's own handler formats it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        own = next((h for h in logging.getLogger().handlers if getattr(h, "_leadrelay_handler", False)), None)
        formatter = own.formatter if own and own.formatter else logging.Formatter("%(message)s")
        self.lines.append(formatter.format(record))


@pytest.fixture(scope="session", autouse=True)
def no_secret_or_personal_data_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole suite, scan every log line (this process and every started process) for leaks."""
    capture = _Capture()
    logging.getLogger().addHandler(capture)
    yield
    logging.getLogger().removeHandler(capture)
    base = tmp_path_factory.getbasetemp()
    files = {p: p.read_text(errors="replace") for p in base.rglob("*.log") if p.name != "redis.log"}
    leaks = [
        (where, value)
        for where, text in [("this process", "\n".join(capture.lines)), *files.items()]
        for value in NEVER_LOGGED
        if value in text
    ]
    assert not leaks, f"secrets or personal data in logs: {leaks[:5]}"
