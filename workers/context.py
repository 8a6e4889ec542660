"""What a worker process builds once and reuses for every job: store, Callbell client, policy, sources."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import requests

from service.runtime import Runtime
from service.settings import Settings
from service.sources import WORKER
from service.store import LeadStore
from workers.callbell import CallbellClient
from workers.policy import RetryPolicy
from workers.ratelimit import CallbellRateLimit


@dataclass
class WorkerContext:
    """What a worker process builds once and reuses for every job: store, client, policy, sources."""

    settings: Settings
    store: LeadStore
    client: CallbellClient
    policy: RetryPolicy
    runtime: Runtime
    session: requests.Session  # for the Graph API (Callbell has its own in the client)


@functools.cache
def context() -> WorkerContext:
    """Build the worker context from the environment, once per process (the app's Runtime, plus a client)."""
    from importlib.metadata import version

    rt = Runtime.start(Settings.load(), role=WORKER)
    rt.sources_file.watch()
    settings = rt.settings
    client = CallbellClient(
        settings.callbell_api_url,
        settings.callbell_api_token,
        CallbellRateLimit(rt.redis, settings.callbell_max_rps),
        user_agent=f"leadrelay/{version('leadrelay')}",
        read_timeout=settings.callbell_read_timeout,
    )
    return WorkerContext(
        settings, rt.store, client, RetryPolicy(settings.retry_schedule), rt, requests.Session()
    )
