"""The fleet-wide rate limiter, deterministic: an injected clock that moves only when the limiter sleeps."""

from __future__ import annotations

import pytest

from image_pipeline.recognition.domain.rate_limit import RateLimiter, SlotPlan
from tests.support.fake_ledger import InMemorySlotLedger, ManualClock


def limiter(quota: int, ledger: InMemorySlotLedger, clock: ManualClock) -> RateLimiter:
    return RateLimiter(ledger, {"labels": quota}, clock=clock, sleep=clock.sleep)


@pytest.mark.parametrize("quota", [1, 2, 3, 5, 7, 10, 15, 50, 100, 333])
def test_the_slots_of_one_second_hold_exactly_the_quota(quota: int) -> None:
    plan = SlotPlan(quota)
    first = plan.slot_at(1_700_000_000.0)
    capacities = [plan.capacity(first + index) for index in range(plan.per_second)]
    assert sum(capacities) == quota
    assert min(capacities) >= 1
    assert plan.per_second == min(quota, 2)


@pytest.mark.parametrize("quota", [2, 5, 7, 50])
def test_no_window_of_any_length_gets_more_than_a_one_second_bucket_allows(quota: int) -> None:
    # Given one slot plan, the most calls any interval [a, a + length] can see: every slot it touches, full
    plan = SlotPlan(quota)
    base = plan.slot_at(1_700_000_000.0)
    for length_slots in range(1, 3 * plan.per_second):
        for offset in range(plan.per_second):
            touched = range(base + offset, base + offset + length_slots + 1)
            calls = sum(plan.capacity(slot) for slot in touched)
            length = length_slots / plan.per_second
            # Then it stays within a token bucket of capacity = one second of quota, refilled at the quota
            assert calls <= quota * length + quota


def test_a_full_backlog_gets_exactly_the_quota_each_second_and_no_more() -> None:
    # Given one instance that always has a call waiting, quota 5
    ledger, clock = InMemorySlotLedger(), ManualClock()
    gate = limiter(5, ledger, clock)
    granted_at = []
    # When it asks for tokens for 10 seconds of its clock
    end = clock.now + 10
    while clock.now < end:
        assert gate.acquire("labels", deadline=end + 1)
        granted_at.append(clock.now)
    # Then every one-second window holds at most 5 calls, and 10 seconds held 50 (100% of the quota)
    assert len([t for t in granted_at if t < end]) == 50
    for start in granted_at:
        assert len([t for t in granted_at if start <= t < start + 1]) <= 5


def test_two_instances_share_one_quota() -> None:
    # Given two instances (two limiters) on one ledger, each with a call always waiting
    ledger, clock = InMemorySlotLedger(), ManualClock()
    first, second = limiter(5, ledger, clock), limiter(5, ledger, clock)
    granted = []
    end = clock.now + 4
    while clock.now < end:
        for gate in (first, second):
            if gate.acquire("labels", deadline=clock.now + 0.001):
                granted.append(clock.now)
        clock.sleep(0.01)
    # Then together they got the quota once, not twice
    assert len([t for t in granted if t < end]) == 4 * 5


def used_up_slot() -> tuple[InMemorySlotLedger, ManualClock, SlotPlan, int, RateLimiter]:
    """The current slot of quota 5 used up by another instance."""
    ledger, clock = InMemorySlotLedger(), ManualClock()
    plan = SlotPlan(5)
    slot = plan.slot_at(clock.now)
    ledger.used["labels", slot] = plan.capacity(slot)
    return ledger, clock, plan, slot, limiter(5, ledger, clock)


def test_no_token_before_the_deadline_returns_false_without_calling() -> None:
    # Given the current slot used up by another instance
    _, clock, plan, slot, gate = used_up_slot()
    # When the caller may wait only until just before the next slot
    granted = gate.acquire("labels", deadline=plan.start(slot + 1) - 0.01)
    # Then it gets no token, waited until its deadline, and says so
    assert granted is False
    assert gate.stats.timed_out == 1
    assert clock.now == pytest.approx(plan.start(slot + 1) - 0.01)


def test_a_used_up_slot_is_not_asked_again_until_the_next_one() -> None:
    ledger, clock, plan, slot, gate = used_up_slot()
    assert gate.acquire("labels", deadline=clock.now + 5)
    # one take found the slot used up, the next (in the next slot) got the token
    assert [(s - slot, wanted, got) for _, s, wanted, got in ledger.takes] == [(0, 1, 0), (1, 1, 1)]
    assert gate.stats.takes == 2
    assert clock.now == pytest.approx(plan.start(slot + 1))


def test_operations_have_separate_quotas() -> None:
    ledger, clock = InMemorySlotLedger(), ManualClock()
    gate = RateLimiter(ledger, {"labels": 1, "text": 10}, clock=clock, sleep=clock.sleep)
    end = clock.now + 3
    counts = {"labels": 0, "text": 0}
    while clock.now < end:
        for key in counts:
            if gate.acquire(key, deadline=clock.now + 0.001):
                counts[key] += 1
        clock.sleep(0.01)
    assert abs(counts["labels"] - 3) <= 1
    assert abs(counts["text"] - 30) <= 1
    assert counts["text"] > 3 * counts["labels"]


def test_an_unknown_operation_is_a_programming_error() -> None:
    gate = limiter(5, InMemorySlotLedger(), ManualClock())
    with pytest.raises(KeyError):
        gate.acquire("colours", deadline=0)
