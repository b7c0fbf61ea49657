"""The rate limiter's shared counters in memory (one process stands for the fleet), and a manual clock."""

from __future__ import annotations

import threading
from collections import Counter


class InMemorySlotLedger:
    """The semantics of adapters/rate_ledger.py: at most ``capacity`` tokens per (key, slot), all instances together."""

    def __init__(self) -> None:
        self.used: Counter[tuple[str, int]] = Counter()
        self.takes: list[tuple[str, int, int, int]] = []  # (key, slot, wanted, got)
        self._lock = threading.Lock()

    def take(self, key: str, slot: int, wanted: int, capacity: int, slot_start: float) -> int:
        with self._lock:
            got = max(0, min(wanted, capacity - self.used[key, slot]))
            self.used[key, slot] += got
            self.takes.append((key, slot, wanted, got))
            return got


class ManualClock:
    """Time that moves only when somebody sleeps (single-threaded tests)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
