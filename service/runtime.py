"""What the app and the workers share at run time: settings, sources, Redis, the queue, the store."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from redis import Redis
from rq import Queue

from service.records import LeadStore
from service.settings import Settings
from service.sources import Source, load_sources
from workers.queueing import make_queue

# Fail fast when Redis is gone: a sender waiting on us is better served by a quick 503.
REDIS_SOCKET_TIMEOUT = 5
REDIS_CONNECT_TIMEOUT = 2


def connect_redis(url: str) -> Redis:
    """Open a Redis client with bounded timeouts (bytes in, bytes out, as RQ needs)."""
    return Redis.from_url(
        url,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        health_check_interval=30,
    )


@dataclass
class Runtime:
    """The objects built once at start-up from validated configuration."""

    settings: Settings
    sources: dict[str, Source]
    redis: Redis
    queue: Queue
    store: LeadStore

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Read the sources file and connect; a bad configuration raises ConfigError here."""
        sources = load_sources(settings.sources_path)
        redis = connect_redis(settings.redis_url)
        queue = make_queue(redis, settings.queue_name)
        store = LeadStore(redis, queue, settings)
        return cls(settings, sources, redis, queue, store)

    def secrets(self) -> list[str]:
        """Every secret this process knows, so log lines can be scrubbed of them."""
        found = [self.settings.callbell_api_token, self.settings.admin_token]
        for source in self.sources.values():
            found += [*source.secrets, source.verify_token, source.page_token]
        return [s for s in found if s]


def runtime() -> Runtime:
    """Return the current app's runtime."""
    return current_app.extensions["leadrelay"]
