"""A rate limit per Rekognition operation shared by every worker instance (the fleet), not a concurrency cap.

Time is cut into slots of ``1/S`` second (``S = min(quota, 2)``); slot ``i`` of a second holds its share of
the quota, ``floor(quota x (i+1) / S) - floor(quota x i / S)`` tokens, so that a whole second holds exactly the
quota. Every instance takes tokens of the current slot from one counter per slot that the whole fleet shares
(one conditional write takes as many tokens as calls are waiting in that instance), and spends them only
within that slot. In any interval of length ``L`` the fleet therefore starts at most
``quota x L + 2 x slot capacity`` calls, within what a token bucket of one second of quota allows, however
many instances run and whatever Rekognition's latency: raising concurrency can no longer break the quota,
and a slow answer no longer leaves the quota unused (the next call does not wait for it).

Two slots per second is the fewest that keeps that bound (``2 x capacity <= quota``), and the fewest
writes: each instance writes at most once per operation and slot in which it has calls waiting (plus one
when a slot has fewer tokens left than it asked for), whatever the quota.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

MAX_SLOTS_PER_SECOND = 2
# A thread that waits while another one takes tokens for the same operation looks again after this long
# at the latest (it is woken as soon as the tokens arrive).
_TAKER_POLL_SECONDS = 0.05


class SlotLedger(Protocol):
    """The fleet's shared counters, one per operation and slot."""

    def take(self, key: str, slot: int, wanted: int, capacity: int, slot_start: float) -> int:
        """Takes up to ``wanted`` of the ``capacity`` tokens of ``slot`` (which starts at ``slot_start``, epoch
        seconds) atomically for the whole fleet; returns how many it took (0 when the slot is used up)."""
        ...


@dataclass(frozen=True)
class SlotPlan:
    """How one operation's quota (calls per second) is cut into slots."""

    quota: int

    def __post_init__(self) -> None:
        if self.quota < 1:
            raise ValueError("a quota is at least 1 call per second")

    @property
    def per_second(self) -> int:
        return min(self.quota, MAX_SLOTS_PER_SECOND)

    def slot_at(self, now: float) -> int:
        return int(now * self.per_second)

    def start(self, slot: int) -> float:
        return slot / self.per_second

    def capacity(self, slot: int) -> int:
        index, slots = slot % self.per_second, self.per_second
        return self.quota * (index + 1) // slots - self.quota * index // slots


@dataclass
class LimiterStats:
    """What the limiter did in this instance (for metrics and the benchmark's cost figures)."""

    granted: int = 0  # calls allowed
    timed_out: int = 0  # waits that ended without a token (the image is put back on the queue)
    takes: int = 0  # requests to the ledger
    wasted: int = 0  # tokens taken but not spent within their slot
    waited_seconds: float = 0.0


@dataclass
class _Gate:
    plan: SlotPlan
    condition: threading.Condition = field(default_factory=threading.Condition)
    slot: int = -1
    held: int = 0  # tokens of ``slot`` this instance took and has not spent yet
    used_up: bool = False  # ``slot`` has no token left anywhere in the fleet
    taking: bool = False  # a thread is asking the ledger for tokens right now
    waiting: int = 0


class RateLimiter:
    """Blocks a call until the fleet's quota of its operation has room for it, or until a deadline."""

    def __init__(
        self,
        ledger: SlotLedger,
        quotas: Mapping[str, int],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ledger = ledger
        self._gates = {key: _Gate(SlotPlan(quota)) for key, quota in quotas.items()}
        self._clock = clock
        self._sleep = sleep
        self.stats = LimiterStats()
        self._stats_lock = threading.Lock()

    def acquire(self, key: str, deadline: float) -> bool:
        """True once a token of ``key``'s quota is this caller's: it may make one call now. False when no
        token could be had before ``deadline`` (epoch seconds, the limiter's clock)."""
        gate = self._gates[key]
        started = self._clock()
        with gate.condition:
            gate.waiting += 1
            try:
                granted = self._wait_for_token(key, gate, deadline)
            finally:
                gate.waiting -= 1
        with self._stats_lock:
            self.stats.waited_seconds += max(0.0, self._clock() - started)
            if granted:
                self.stats.granted += 1
            else:
                self.stats.timed_out += 1
        return granted

    def _wait_for_token(self, key: str, gate: _Gate, deadline: float) -> bool:
        """Runs with ``gate.condition`` held; releases it while sleeping or asking the ledger."""
        plan = gate.plan
        while True:
            now = self._clock()
            slot = plan.slot_at(now)
            if gate.slot != slot:
                self._count_wasted(gate.held if gate.slot >= 0 else 0)
                gate.slot, gate.held, gate.used_up = slot, 0, False
            if gate.held > 0:
                gate.held -= 1
                return True
            if now >= deadline:
                return False
            if gate.taking:
                gate.condition.wait(_TAKER_POLL_SECONDS)
                continue
            if gate.used_up:
                resume = min(plan.start(slot + 1), deadline)
                gate.condition.release()
                try:
                    self._sleep(max(0.0, resume - now))
                finally:
                    gate.condition.acquire()
                continue
            capacity = plan.capacity(slot)
            wanted = min(gate.waiting, capacity)
            gate.taking = True
            gate.condition.release()
            try:
                got = self._ledger.take(key, slot, wanted, capacity, plan.start(slot))
            finally:
                gate.condition.acquire()
                gate.taking = False
                gate.condition.notify_all()
            with self._stats_lock:
                self.stats.takes += 1
            if gate.slot != slot:  # the slot ended meanwhile: its tokens are void
                self._count_wasted(got)
                continue
            gate.held += got
            gate.used_up = got < wanted

    def _count_wasted(self, tokens: int) -> None:
        if tokens:
            with self._stats_lock:
                self.stats.wasted += tokens
