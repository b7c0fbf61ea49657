"""The retry schedule: exponential backoff with jitter over at least 24 hours, honouring Retry-After."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from image_pipeline.webhooks.domain.model import AttemptOutcome, classify
from image_pipeline.webhooks.domain.schedule import RetrySchedule, parse_retry_after

DAY = 24 * 3600


def _lowest(a: float, b: float) -> float:
    return a


def _highest(a: float, b: float) -> float:
    return b


def test_the_retry_window_is_at_least_24_hours_even_with_the_smallest_jitter() -> None:
    schedule = RetrySchedule()
    waits = [schedule.next_delay(n, uniform=_lowest) for n in range(1, schedule.max_attempts)]
    assert all(w is not None for w in waits)
    assert sum(w for w in waits if w) >= DAY
    assert schedule.window_seconds(1 - schedule.jitter) >= DAY


def test_waits_grow_exponentially_up_to_the_cap() -> None:
    schedule = RetrySchedule()
    bases = [schedule.base_delay(n) for n in range(1, schedule.max_attempts)]
    assert bases[:4] == [5, 15, 45, 135]
    assert bases == sorted(bases)
    assert max(bases) == 8 * 3600


def test_jitter_stays_within_fifteen_percent() -> None:
    schedule = RetrySchedule()
    assert schedule.next_delay(3, uniform=_lowest) == pytest.approx(45 * 0.85)
    assert schedule.next_delay(3, uniform=_highest) == pytest.approx(45 * 1.15)


def test_the_last_attempt_has_no_follow_up() -> None:
    schedule = RetrySchedule()
    assert schedule.next_delay(schedule.max_attempts) is None
    assert schedule.next_delay(schedule.max_attempts - 1) is not None


def test_retry_after_is_never_cut_short() -> None:
    schedule = RetrySchedule()
    assert schedule.next_delay(1, retry_after=120, uniform=_highest) == 120
    # A shorter Retry-After than the schedule's wait does not hurry the next attempt
    assert schedule.next_delay(8, retry_after=1, uniform=_lowest) == pytest.approx(10935 * 0.85)
    # An absurd one is capped at a day
    assert schedule.next_delay(1, retry_after=10 * DAY) == DAY


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now) == pytest.approx(90)
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, AttemptOutcome.DELIVERED),
        (204, AttemptOutcome.DELIVERED),
        (299, AttemptOutcome.DELIVERED),
        (301, AttemptOutcome.RETRY),
        (302, AttemptOutcome.RETRY),
        (307, AttemptOutcome.RETRY),
        (429, AttemptOutcome.RETRY),
        (500, AttemptOutcome.RETRY),
        (503, AttemptOutcome.RETRY),
        (None, AttemptOutcome.RETRY),  # timeout or no connection
        (101, AttemptOutcome.RETRY),  # an informational status as the final answer: not delivered, not a 4xx
        (103, AttemptOutcome.RETRY),
        (410, AttemptOutcome.GONE),
        (400, AttemptOutcome.FAILED),
        (401, AttemptOutcome.FAILED),
        (404, AttemptOutcome.FAILED),
        (413, AttemptOutcome.FAILED),
        (499, AttemptOutcome.FAILED),
    ],
)
def test_each_answer_decides_what_happens_next(status: int | None, outcome: AttemptOutcome) -> None:
    assert classify(status) is outcome
