"""The delivery policy: which answers are retried, after how long, and when a lead becomes a dead letter."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Seconds before attempt 2, 3, ...: quick first retries so a blip costs seconds, then spreading out
# so a Callbell outage of a day is survived (the sum is about 27.7 hours; 12 attempts in all).
DEFAULT_SCHEDULE = (2, 10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
# ±20 % spreads retries of leads that failed together, so they do not return together.
JITTER = 0.2
# Retry-After is honoured up to this long; a larger value is treated as this.
MAX_RETRY_AFTER = 3600
# Answers worth another try (Standard Webhooks / Svix classification); any other 4xx is permanent.
RETRYABLE_STATUS = frozenset({408, 425, 429})


def is_retryable(status: int | None) -> bool:
    """True for connection errors and timeouts (no status), 408, 425, 429 and every 5xx."""
    return status is None or status in RETRYABLE_STATUS or status >= 500


@dataclass(frozen=True)
class Decision:
    """What to do after a failed attempt: retry after `delay` seconds, or dead-letter with `reason`."""

    retry: bool
    delay: int = 0
    reason: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff with jitter over a fixed schedule; exhausting it dead-letters the lead."""

    schedule: tuple[int, ...] = DEFAULT_SCHEDULE

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one retry per schedule entry."""
        return len(self.schedule) + 1

    @classmethod
    def parse(cls, text: str) -> RetryPolicy:
        """Build a policy from `"2,10,30"` (seconds); an empty text gives the default schedule."""
        if not text.strip():
            return cls()
        try:
            schedule = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise ValueError(f"retry schedule: {text!r} is not a comma-separated list of seconds") from None
        if any(s <= 0 for s in schedule):
            raise ValueError("retry schedule: every delay must be greater than 0")
        return cls(schedule)

    def decide(
        self, status: int | None, attempt: int, retry_after: float | None = None, error: str = ""
    ) -> Decision:
        """Decide after failed attempt number `attempt` (1-based) that got `status` (None: no answer)."""
        what = error or f"HTTP {status}"
        if not is_retryable(status):
            return Decision(False, reason=f"permanent failure: {what}")
        if attempt >= self.max_attempts:
            return Decision(False, reason=f"gave up after {attempt} attempts: {what}")
        base = self.schedule[attempt - 1]
        delay = base * random.uniform(1 - JITTER, 1 + JITTER)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return Decision(True, delay=max(1, round(delay)))
