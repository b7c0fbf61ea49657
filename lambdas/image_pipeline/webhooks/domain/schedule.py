"""When a failed delivery is tried again: exponential backoff with jitter over more than 24 hours.

Attempt 1 is immediate. After failed attempt n (1..11) the next one waits ``5 s x 3^(n-1)``, capped at
8 h, times a random factor in [0.85, 1.15]: about 5 s, 15 s, 45 s, 2 m, 7 m, 20 m, 1 h, 3 h, 8 h, 8 h, 8 h.
Attempt 12 is the last, 24.3 to 32.8 hours after the first (28.6 h without jitter); when it fails too
the delivery goes to the dead-letter queue. A ``Retry-After`` answer is honoured: the wait is never
shorter than it asks (up to 24 h).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_SECONDS = 24 * 3600
# delta-seconds is ASCII digits only (RFC 9110): str.isdigit() would take "²" or "٣", which float() refuses.
_DELTA_SECONDS = re.compile(r"[0-9]{1,16}")


@dataclass(frozen=True)
class RetrySchedule:
    max_attempts: int = 12
    first_delay_seconds: float = 5.0
    factor: float = 3.0
    cap_seconds: float = 8 * 3600.0
    jitter: float = 0.15

    def base_delay(self, failed_attempt: int) -> float:
        """The wait after attempt ``failed_attempt`` (1-based) failed, before jitter."""
        return min(self.first_delay_seconds * self.factor ** (failed_attempt - 1), self.cap_seconds)

    def next_delay(
        self,
        failed_attempt: int,
        *,
        retry_after: float | None = None,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> float | None:
        """Seconds until the next attempt, or None when ``failed_attempt`` was the last one."""
        if failed_attempt >= self.max_attempts:
            return None
        delay = self.base_delay(failed_attempt) * uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay

    def window_seconds(self, jitter_factor: float = 1.0) -> float:
        """Time from the first to the last attempt when every wait is scaled by ``jitter_factor``."""
        return sum(self.base_delay(n) * jitter_factor for n in range(1, self.max_attempts))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (at most a day): delta-seconds or an HTTP date; None when absent
    or unreadable. A receiver's header can hold anything (Latin-1 bytes, a year 99999): this never raises."""
    if not value:
        return None
    value = value.strip(" \t")
    if _DELTA_SECONDS.fullmatch(value):
        return float(min(int(value), MAX_RETRY_AFTER_SECONDS))
    try:
        moment = parsedate_to_datetime(value)
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - now
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), float(MAX_RETRY_AFTER_SECONDS))
