"""Redis key names and lead statuses: declared once, used by the app, the workers and the metrics."""

from __future__ import annotations

from enum import StrEnum

KEY_PREFIX = "leadrelay"
DEAD_INDEX = f"{KEY_PREFIX}:dead"  # sorted set: lead id -> time it became a dead letter
DEDUP_PREFIX = f"{KEY_PREFIX}:dedup:"  # string: dedup key -> id of the lead it first named
# sorted set: lead id -> when its job should have run; what the sweep checks for lost jobs
PENDING_INDEX = f"{KEY_PREFIX}:pending"
LEASE_PREFIX = f"{KEY_PREFIX}:lease:"  # string: lead id -> token of the delivery holding it
# sorted set: lead id -> when its welcome message should go out; what the sweep checks for lost jobs
WELCOME_PENDING = f"{KEY_PREFIX}:welcome:pending"
# list: send times of the Callbell requests in the last second, newest first (the shared budget)
CALLBELL_WINDOW = f"{KEY_PREFIX}:callbell:window"
# string: held by the one worker doing the fleet's sweeps and trims this maintenance interval
MAINTENANCE_LOCK = f"{KEY_PREFIX}:maintenance"
METRIC_COUNTERS = f"{KEY_PREFIX}:metrics:counters"
METRIC_HISTOGRAMS = f"{KEY_PREFIX}:metrics:histograms"


class Status(StrEnum):
    """Where a lead stands."""

    QUEUED = "queued"  # waiting for its first delivery attempt
    RETRYING = "retrying"  # an attempt failed; the next one is scheduled
    DELIVERED = "delivered"
    DEAD = "dead"  # delivery failed for good: a dead letter
    REJECTED = "rejected"  # failed validation: a dead letter
    SKIPPED = "skipped"  # kept, not delivered (a sender's test lead)


class Welcome(StrEnum):
    """Where a lead's welcome message stands."""

    DUE = "due"  # the contact is delivered; the message is to be sent
    SENDING = "sending"  # the intent is written and no outcome yet: found so later, it is unknown
    ACCEPTED = "accepted"  # Callbell answered 2xx with the message's uuid
    UNKNOWN = "unknown"  # it may have been sent: never sent again by itself
    FAILED = "failed"  # not sent (Callbell refused it, or it could not be)
    SKIPPED = "skipped"  # not meant to be sent (no consent, a returning contact, the cool-down)


STATUSES = tuple(Status)
WELCOME_STATES = tuple(Welcome)
WELCOME_OPEN = (Welcome.DUE, Welcome.SENDING)  # what the welcome sweep looks after
WELCOME_ATTENTION = (Welcome.UNKNOWN, Welcome.FAILED)  # what the console lists for a person
PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)
DEAD_STATUSES = (Status.DEAD, Status.REJECTED)


def lead_key(lead_id: str) -> str:
    """Return the Redis key of a lead record."""
    return f"{KEY_PREFIX}:lead:{lead_id}"


def lease_key(lead_id: str) -> str:
    """Return the Redis key of a lead's delivery lease."""
    return f"{LEASE_PREFIX}{lead_id}"


def welcome_lease_key(lead_id: str) -> str:
    """Return the Redis key of the lease a welcome job holds while it sends."""
    return f"{LEASE_PREFIX}welcome:{lead_id}"
