"""RQ's routine log lines, dropped: the lines that matter are the deliveries' own."""

from __future__ import annotations

import logging


class QuietRoutine(logging.Filter):
    """Drop RQ's routine lines: maintenance every ten seconds, and four lines per job.

    Every delivery logs its own line (lead, outcome, requests); RQ's per-job lines only repeated
    the job id, and writing them cost more CPU than the delivery's Redis round trips.
    """

    ROUTINE = ("cleaning registries", "cleaning group registries", "Acquired scheduler lock")
    PER_JOB = frozenset(
        {
            "Worker %s: %s: %s",
            "Worker %s: %s: %s (%s)",
            "Worker %s: job %s result is kept for %s seconds",
            "Worker %s: job %s result discarded immediately",
            "Successfully completed job %s in %ss on worker %s",
            "Successfully completed %s job in %ss on worker %s",
        }
    )

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every line but the routine ones, unless DEBUG logging is on."""
        routine = record.msg in self.PER_JOB or any(part in str(record.msg) for part in self.ROUTINE)
        return not routine or logging.getLogger().isEnabledFor(logging.DEBUG)
