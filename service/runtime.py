"""What the app and the workers share at run time: settings, sources, Redis, the queue, the store."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from redis import Redis
from rq import Queue

from service.queueing import make_queue
from service.settings import Settings
from service.sources import INTAKE, Source
from service.sources_file import SourcesFile
from service.store import LeadStore

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
    sources_file: SourcesFile
    redis: Redis
    queue: Queue
    store: LeadStore

    @classmethod
    def start(cls, settings: Settings, role: str = INTAKE) -> Runtime:
        """Read the sources file and connect; a bad configuration raises ConfigError here.

        `role` (intake, worker or operator) says which of the sources' secrets must be set.
        """
        sources_file = SourcesFile(settings.sources_path, role)
        redis = connect_redis(settings.redis_url)
        queue = make_queue(redis, settings.queue_name)
        store = LeadStore(redis, queue, settings)
        return cls(settings, sources_file, redis, queue, store)

    @property
    def sources(self) -> dict[str, Source]:
        """The sources in force (the file is re-read when it changes)."""
        return self.sources_file.sources

    def default_region(self) -> str:
        """The region for a phone an operator types without a country code: the first source's."""
        return next(iter(self.sources.values())).default_region if self.sources else "US"

    def secrets(self) -> list[str]:
        """Every secret this process knows, so log lines can be scrubbed of them."""
        settings = self.settings
        found = [settings.callbell_api_token, settings.admin_token, settings.console_password]
        found += settings.callbell_webhook_secret.split()
        for source in self.sources.values():
            found += [*source.secrets, source.verify_token, source.page_token]
        return [s for s in found if s]


def runtime() -> Runtime:
    """Return the current app's runtime."""
    return current_app.extensions["leadrelay"]
