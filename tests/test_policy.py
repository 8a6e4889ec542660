"""The pure pieces of delivery: the retry policy, Retry-After, the retry schedule setting, durations."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from service.deadletters import Filter, parse_duration, parse_since
from service.errors import ConfigError
from service.settings import DEFAULT_RETRY_SCHEDULE, Settings, parse_schedule
from workers.callbell import parse_retry_after
from workers.policy import JITTER, MAX_RETRY_AFTER, RetryPolicy, is_retryable


@pytest.mark.parametrize("status", [None, 408, 425, 429, 500, 502, 503, 504, 599])
def test_no_answer_timeouts_throttling_and_server_errors_are_retried(status):
    assert is_retryable(status)
    assert RetryPolicy((5,)).decide(status, attempt=1).retry


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_other_client_errors_are_dead_at_once(status):
    decision = RetryPolicy((5, 5, 5)).decide(status, attempt=1)
    assert not decision.retry
    assert decision.reason == f"permanent failure: HTTP {status}"


def test_each_retry_waits_its_scheduled_delay_within_the_jitter():
    policy = RetryPolicy((10, 100, 1000))
    for attempt, base in enumerate(policy.schedule, start=1):
        delays = {policy.decide(503, attempt).delay for _ in range(200)}
        assert min(delays) >= round(base * (1 - JITTER))
        assert max(delays) <= round(base * (1 + JITTER))
        assert len(delays) > 1  # spread, so leads that failed together do not return together


def test_the_schedule_running_out_makes_a_dead_letter():
    policy = RetryPolicy((1, 1))
    assert policy.max_attempts == 3
    assert policy.decide(500, attempt=2).retry
    last = policy.decide(500, attempt=3, error="create: HTTP 500")
    assert not last.retry
    assert last.reason == "gave up after 3 attempts: create: HTTP 500"


def test_retry_after_lengthens_the_wait_up_to_an_hour():
    policy = RetryPolicy((2,))
    assert policy.decide(429, 1, retry_after=30).delay == 30
    assert policy.decide(429, 1, retry_after=10 * MAX_RETRY_AFTER).delay == MAX_RETRY_AFTER
    assert policy.decide(429, 1, retry_after=0).delay <= 3  # never shorter than the schedule


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert parse_retry_after("120") == 120.0
    assert 55 <= parse_retry_after(formatdate(time.time() + 60, usegmt=True)) <= 60
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_the_retry_schedule_setting_is_parsed_once_into_seconds():
    assert Settings.load({"retry_schedule": "1, 5,30"}).retry_schedule == (1, 5, 30)
    assert Settings.load({"retry_schedule": ""}).retry_schedule == DEFAULT_RETRY_SCHEDULE
    assert parse_schedule([3, 4]) == (3, 4)
    with pytest.raises(ConfigError, match="LEADRELAY_RETRY_SCHEDULE: 'soon' is not a comma-separated"):
        Settings.load({"retry_schedule": "soon"})
    with pytest.raises(ConfigError, match="LEADRELAY_RETRY_SCHEDULE: every delay must be greater than 0"):
        Settings.load({"retry_schedule": "5,0"})


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1.5h", 5400), ("7d", 604800), ("2w", 1209600)]
)
def test_durations_an_operator_types(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "12", "3 days", "h", "-2h"])
def test_a_bad_duration_says_how_to_write_one(text):
    with pytest.raises(ValueError, match="use a number and a unit"):
        parse_duration(text)


def test_since_takes_an_iso_time_or_a_duration_ago():
    assert parse_since("2026-11-01T10:00:00Z") == 1_793_527_200.0
    assert abs(parse_since("2h") - (time.time() - 7200)) < 5
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_since("yesterday")
    with pytest.raises(ValueError, match="status: must be one of dead, rejected"):
        Filter.parse(status="delivered")
