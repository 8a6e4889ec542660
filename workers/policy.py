"""The delivery policy: which answers are retried, after how long, and when a lead becomes a dead letter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from service.settings import DEFAULT_RETRY_SCHEDULE

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

    schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one retry per schedule entry."""
        return len(self.schedule) + 1

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
