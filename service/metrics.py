"""Metrics kept in Redis, so every gunicorn worker, RQ worker and machine adds to the same figures.

Events are counted with HINCRBY on the pipeline the caller already sends (no extra round trip where
a write happens anyway); `/metrics` renders them with prometheus-client, together with gauges read
from Redis at scrape time (queue depth, oldest queued lead, dead letters).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis import Redis
from redis.client import Pipeline

from service.keys import DEAD_INDEX, METRIC_COUNTERS, METRIC_HISTOGRAMS
from service.lead_index import source_index

COUNTERS = METRIC_COUNTERS
HISTOGRAMS = METRIC_HISTOGRAMS

# Every metric is named here once (exposed with the `leadrelay_` prefix, counters with `_total`);
# counting under a name missing from HELP raises, so a typo cannot start a new series.
LEADS_RECEIVED = "leads_received"
DELIVERY_ATTEMPTS = "delivery_attempts"
DEAD_LETTERS_CREATED = "dead_letters_created"
RATE_LIMIT_WAITS = "rate_limit_waits"
INTAKE_SECONDS = "intake_seconds"
DELIVERY_SECONDS = "delivery_seconds"
WELCOMES = "welcomes"
SPEED_TO_LEAD_SECONDS = "speed_to_lead_seconds"
WELCOME_STATUSES = "welcome_statuses"
HELP = {
    LEADS_RECEIVED: "Leads received, by source and outcome",
    DELIVERY_ATTEMPTS: "Delivery attempts, by outcome and last HTTP status",
    DEAD_LETTERS_CREATED: "Leads that became dead letters, by status",
    RATE_LIMIT_WAITS: "Times a worker waited for the shared Callbell request budget",
    INTAKE_SECONDS: "Time to answer an intake request",
    DELIVERY_SECONDS: "Time from receipt to delivery into Callbell",
    WELCOMES: "Welcome messages, by outcome (accepted, unknown, failed, skipped, retry)",
    SPEED_TO_LEAD_SECONDS: "Time from receipt to the welcome message accepted by Callbell",
    WELCOME_STATUSES: "Welcome message statuses Callbell reported by webhook (sent, delivered, read, failed)",
}
# Intake answers in milliseconds; end-to-end delivery takes from under a second to a day of retries.
BUCKETS = {
    INTAKE_SECONDS: (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    DELIVERY_SECONDS: (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
    SPEED_TO_LEAD_SECONDS: (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300, 3600),
}


def field(name: str, **labels: str) -> str:
    """The hash field of a counter, for writers that count inside a script."""
    return _field(name, labels)


def _field(name: str, labels: dict[str, str]) -> str:
    """Encode a metric name and its labels as one hash field: `name|k=v|k=v`."""
    if name not in HELP:
        raise KeyError(f"{name}: not a metric declared in service.metrics")
    return "|".join([name, *(f"{k}={v}" for k, v in sorted(labels.items()))])


def count(pipe: Pipeline | Redis, name: str, amount: int = 1, **labels: str) -> None:
    """Add to a counter (queued on `pipe`)."""
    pipe.hincrby(COUNTERS, _field(name, labels), amount)


def observe(pipe: Pipeline | Redis, name: str, value: float, **labels: str) -> None:
    """Record one observation in a histogram (queued on `pipe`)."""
    bucket = next((b for b in BUCKETS[name] if value <= b), "+Inf")
    pipe.hincrby(HISTOGRAMS, _field(name, {**labels, "le": str(bucket)}), 1)
    pipe.hincrbyfloat(HISTOGRAMS, _field(name, labels).replace(name, f"{name}_sum", 1), value)


class RedisCollector:
    """A prometheus-client collector that reads the shared figures from Redis at scrape time."""

    def __init__(self, redis: Redis, queue_name: str, sources: tuple[str, ...] = ()):
        self.redis = redis
        self.queue_name = queue_name
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        """Yield every metric family."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(COUNTERS)
            pipe.hgetall(HISTOGRAMS)
            pipe.llen(f"rq:queue:{self.queue_name}")
            pipe.lindex(f"rq:queue:{self.queue_name}", 0)
            pipe.zcard(f"rq:scheduled:{self.queue_name}")
            pipe.zcard(DEAD_INDEX)
            for source in self.sources:
                pipe.zrevrange(source_index(source), 0, 0, withscores=True)
            counters, histograms, depth, oldest, scheduled, dead, *last = pipe.execute()
        yield from _counters(counters)
        yield from _histograms(histograms)
        yield GaugeMetricFamily("leadrelay_queue_depth", "Leads waiting for a worker", value=depth)
        yield GaugeMetricFamily(
            "leadrelay_retries_scheduled", "Leads waiting for their next attempt", value=scheduled
        )
        yield GaugeMetricFamily(
            "leadrelay_oldest_queued_seconds",
            "Age of the lead waiting longest for a worker",
            value=queued_age(self.redis, oldest),
        )
        yield GaugeMetricFamily(
            "leadrelay_dead_letters", "Dead letters kept now (dead and rejected)", value=dead
        )
        received = GaugeMetricFamily(
            "leadrelay_last_lead_timestamp_seconds",
            "When each source's latest lead arrived",
            labels=["source"],
        )
        for source, latest in zip(self.sources, last, strict=True):
            if latest:
                received.add_metric([source], latest[0][1])
        yield received


def queued_age(redis: Redis, job_id: bytes | None, now: float | None = None) -> float:
    """Seconds since a queued job was enqueued (0 for no job): the age of the oldest queued lead."""
    if not job_id:
        return 0.0
    enqueued = redis.hget(f"rq:job:{job_id.decode()}", "enqueued_at")
    if not enqueued:
        return 0.0
    stamp = datetime.fromisoformat(enqueued.decode().replace("Z", "+00:00")).timestamp()
    return max((now or time.time()) - stamp, 0.0)


def _parse(field: bytes) -> tuple[str, dict[str, str]]:
    """Decode a hash field back to name and labels."""
    name, *pairs = field.decode().split("|")
    return name, dict(p.split("=", 1) for p in pairs)


def _counters(raw: dict[bytes, bytes]) -> Iterator[CounterMetricFamily]:
    """Counter families from the counters hash."""
    grouped: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for field, value in raw.items():
        name, labels = _parse(field)
        grouped[name].append((labels, float(value)))
    for name, samples in sorted(grouped.items()):
        keys = sorted({k for labels, _ in samples for k in labels})
        family = CounterMetricFamily(f"leadrelay_{name}", HELP.get(name, name), labels=keys)
        for labels, value in samples:
            family.add_metric([labels.get(k, "") for k in keys], value)
        yield family


def _histograms(raw: dict[bytes, bytes]) -> Iterator[HistogramMetricFamily]:
    """Histogram families (cumulative buckets) from the histograms hash."""
    buckets: dict[tuple[str, tuple], dict[str, float]] = defaultdict(dict)
    sums: dict[tuple[str, tuple], float] = {}
    for field, value in raw.items():
        name, labels = _parse(field)
        if name.endswith("_sum"):
            sums[(name[:-4], tuple(sorted(labels.items())))] = float(value)
            continue
        le = labels.pop("le")
        buckets[(name, tuple(sorted(labels.items())))][le] = float(value)
    families: dict[str, HistogramMetricFamily] = {}
    for (name, labels), counts in sorted(buckets.items()):
        keys = [k for k, _ in labels]
        family = families.setdefault(
            name, HistogramMetricFamily(f"leadrelay_{name}", HELP.get(name, name), labels=keys)
        )
        running, cumulative = 0.0, []
        for bound in [*map(str, BUCKETS[name]), "+Inf"]:
            running += counts.get(bound, 0.0)
            cumulative.append((bound, running))
        family.add_metric([v for _, v in labels], cumulative, sum_value=sums.get((name, labels), 0.0))
    yield from families.values()


def exposition(redis: Redis, queue_name: str, sources: tuple[str, ...] = ()) -> bytes:
    """Render every metric in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(redis, queue_name, sources))
    return generate_latest(registry)
