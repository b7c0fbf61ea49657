"""The daily image quota (uploads/domain/quota.py) with an in-memory counter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from image_pipeline.api.errors import answer_of
from image_pipeline.shared.errors import QuotaExceeded
from image_pipeline.uploads.domain.quota import DailyQuota


class MemoryCounter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, date], int] = {}
        self.forget_at: dict[tuple[str, date], datetime] = {}

    def take(self, owner: str, day: date, *, limit: int, forget_at: datetime) -> bool:
        key = (owner, day)
        if self.counts.get(key, 0) >= limit:
            return False
        self.counts[key] = self.counts.get(key, 0) + 1
        self.forget_at[key] = forget_at
        return True


def quota_at(now: datetime, limit: int = 2) -> tuple[DailyQuota, MemoryCounter]:
    counter = MemoryCounter()
    return DailyQuota(counter, limit, clock=lambda: now), counter


def test_the_quota_refuses_the_image_after_the_limit_with_the_next_utc_midnight() -> None:
    quota, _ = quota_at(datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    quota.charge("alice")
    quota.charge("alice")
    with pytest.raises(QuotaExceeded) as refused:
        quota.charge("alice")
    assert refused.value.resets_at == "2026-03-02T00:00:00Z"
    assert refused.value.retry_after_seconds == 6 * 3600


def test_the_day_is_the_utc_day_whatever_the_clocks_zone() -> None:
    # 01:00 in UTC+2 on March 2nd is still March 1st in UTC
    quota, counter = quota_at(datetime(2026, 3, 2, 1, 0, tzinfo=timezone(timedelta(hours=2))))
    quota.charge("alice")
    assert list(counter.counts) == [("alice", date(2026, 3, 1))]
    assert counter.forget_at[("alice", date(2026, 3, 1))] == datetime(2026, 3, 3, tzinfo=UTC)


def test_a_quota_refusal_is_a_429_with_retry_after_and_resets_at() -> None:
    error = QuotaExceeded("used up", resets_at="2026-03-02T00:00:00Z", retry_after_seconds=60)
    assert answer_of(error) == (
        429,
        {"Retry-After": "60"},
        {"message": "used up", "resetsAt": "2026-03-02T00:00:00Z"},
    )
