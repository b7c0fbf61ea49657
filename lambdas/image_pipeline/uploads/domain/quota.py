"""The per-user daily image quota: each new image takes one of the owner's slots of the UTC day."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from image_pipeline.shared.errors import QuotaExceeded

# A day's counter is kept this long after its day began, then forgotten.
COUNTER_LIFETIME = timedelta(days=2)


class DailyCounter(Protocol):
    def take(self, owner: str, day: date, *, limit: int, forget_at: datetime) -> bool:
        """Atomically counts one more image of ``owner`` on ``day`` if fewer than ``limit`` were counted."""
        ...


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DailyQuota:
    counter: DailyCounter
    limit: int
    clock: Callable[[], datetime] = system_clock

    def charge(self, owner: str) -> None:
        """Takes one of today's slots of ``owner``, or raises QuotaExceeded with when the day ends (UTC)."""
        now = self.clock().astimezone(UTC)
        day = now.date()
        start = datetime.combine(day, time(), UTC)
        resets_at = start + timedelta(days=1)
        if not self.counter.take(owner, day, limit=self.limit, forget_at=start + COUNTER_LIFETIME):
            raise QuotaExceeded(
                f"daily quota of {self.limit} images reached; it resets at midnight UTC",
                resets_at=resets_at.isoformat().replace("+00:00", "Z"),
                retry_after_seconds=max(1, math.ceil((resets_at - now).total_seconds())),
            )
