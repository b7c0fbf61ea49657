"""Who may use a delivery slot now: a bound per endpoint, a share per owner, a circuit breaker per endpoint.

The dispatcher's slots (instances x threads) are shared by every owner. An attempt to an endpoint that
never answers holds its slot for the whole time limit, and an invocation holding one slow attempt takes no
new batch until it ends. So before an attempt the dispatcher takes a lease on one of the endpoint's slots
and one of the owner's: when either is full, or the endpoint's breaker is open, the job does not attempt
at all: it waits up to a second in place when the slots were taken moments ago, by this same instance, for
an endpoint not known to hang (likely a quick attempt), else it goes back to the queue until the first of
those leases runs out (not an attempt, never toward the dead-letter queue).
One owner can hold at most ``owner_share`` slots, fewer than the dispatcher's instances, so every other
owner always finds an instance that is not waiting on them. Waiting in place holds an instance too (its
whole batch waits for the job), so a job only waits behind a lease of its own instance, which that owner's
attempt holds already: a flood of one owner's jobs never makes a second instance wait on that owner.

Leases live in a store with conditional writes (DynamoDB) and expire after the attempt's time limit plus a
margin, so a crashed instance cannot keep a slot. The breaker opens after ``breaker_failures`` attempts in
a row that got no HTTP answer (timeout, refused, connection, TLS, DNS); while open, jobs wait for it;
afterwards one probe at a time goes through (half-open): an answer closes the breaker, another failure
opens it again for twice as long (up to ``breaker_max_open_seconds``). ``POST /webhooks/{id}/enable``
closes it at once.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from image_pipeline.webhooks.domain.model import ENVIRONMENT_WEBHOOK_ID, Failure, Subscription
from image_pipeline.webhooks.domain.ports import BreakerChange, FlowScope, FlowState, FlowStore

# Failures that say the endpoint is not answering (and so holds slots for long): they count toward the breaker.
# Verdicts and webhook owners an instance keeps at most (forgotten all at once beyond: they only save reads).
_REMEMBERED_MAX = 10_000
BREAKER_FAILURES = frozenset({Failure.TIMEOUT, Failure.REFUSED, Failure.CONNECTION, Failure.TLS, Failure.DNS})


@dataclass(frozen=True)
class FairnessSettings:
    endpoint_concurrency: int = 2  # attempts in flight to one endpoint
    owner_share: int = 1  # attempts in flight to one owner's endpoints together
    lease_seconds: float = 20.0  # the attempt's time limit plus a margin
    breaker_failures: int = 3
    breaker_open_seconds: float = 60.0
    breaker_max_open_seconds: float = 900.0
    # A job that found no free slot comes back after a random wait in this range.
    defer_min_seconds: float = 1.0
    defer_max_seconds: float = 3.0
    # When every slot it may take is held by an attempt that began less than this long ago (most likely a
    # fast endpoint), a job waits for one here, polling, instead of going back to the queue for seconds.
    patience_seconds: float = 1.0
    # ... and when those slots are another instance's (this instance would wait on an owner it serves nobody
    # of): one owner's flood holds a second instance for at most this long.
    foreign_patience_seconds: float = 0.25
    # A verdict "busy until the leases run out" is kept this long by the instance that read it: the next jobs
    # for that endpoint or owner go back to the queue without reading the store again (a flood of one owner's
    # jobs to slow endpoints costs a queue write each, not two more reads).
    remember_seconds: float = 1.0
    poll_seconds: float = 0.05


@dataclass(frozen=True)
class Lease:
    """Slots held for one attempt: one of the endpoint's and one of its owner's."""

    endpoint: FlowScope
    endpoint_slot: int
    owner: FlowScope
    owner_slot: int
    token: str
    failures_before: int


@dataclass(frozen=True)
class Deferral:
    reason: str  # endpoint_busy, owner_busy, breaker_open, breaker_probing
    until: float
    # The slots were all taken moments ago (likely quick attempts): worth waiting for here.
    young: bool = False


def owner_scope(subscription: Subscription) -> FlowScope:
    # The environment's fixed endpoint belongs to no user: it has a share of its own.
    return FlowScope("owner", subscription.owner or ENVIRONMENT_WEBHOOK_ID)


class FlowControl:
    def __init__(
        self,
        *,
        store: FlowStore,
        settings: FairnessSettings,
        uniform: Callable[[float, float], float] = random.uniform,
        new_token: Callable[[], str] = lambda: uuid.uuid4().hex,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._settings = settings
        self._uniform = uniform
        self._new_token = new_token
        self._clock = clock
        self._sleep = sleep
        # The tokens of the leases this instance holds now (its threads' attempts in flight), and the verdicts
        # it read lately: scope -> (reason, the time the wait is counted from, when it was read).
        self._held: set[str] = set()
        self._verdicts: dict[FlowScope, tuple[str, float, float]] = {}
        # Whose endpoint each webhook is (learned at admission), so a verdict on its owner applies before the
        # subscription is read again.
        self._owners: dict[str, FlowScope] = {}
        self._held_lock = threading.Lock()

    def admit(self, subscription: Subscription, now: float) -> Lease | Deferral:
        """A lease on a slot of the endpoint and one of its owner, or when (and why) to come back."""
        settings = self._settings
        polls = int(settings.patience_seconds / settings.poll_seconds) if settings.poll_seconds > 0 else 0
        for _ in range(polls):
            admission = self._admit_once(subscription, now)
            if isinstance(admission, Lease) or not admission.young:
                return admission
            self._sleep(settings.poll_seconds)
            now = self._clock()
        return self._admit_once(subscription, now)

    def _admit_once(self, subscription: Subscription, now: float) -> Lease | Deferral:
        settings = self._settings
        endpoint = FlowScope("endpoint", subscription.webhook_id)
        owner = owner_scope(subscription)
        with self._held_lock:
            if len(self._owners) >= _REMEMBERED_MAX:
                self._owners.clear()
            self._owners[subscription.webhook_id] = owner
        remembered = self.remembered_for(subscription.webhook_id, now)
        if remembered is not None:
            return remembered
        state = self._store.flow_state(endpoint)
        if state.open_until is not None and state.open_until > now:
            # (not remembered: POST /webhooks/{id}/enable closes the breaker, and the next job must see it at once)
            return Deferral("breaker_open", state.open_until + self._short_wait())
        tripped = state.failures >= settings.breaker_failures
        # Half-open: one probe at a time, on slot 0.
        free = self._free(state, 1 if tripped else settings.endpoint_concurrency, now)
        if not free:
            if tripped:
                return Deferral("breaker_probing", max(now, state.leases.get(0, now)) + self._short_wait())
            return self._busy(endpoint, "endpoint_busy", state, now)
        owner_state = self._store.flow_state(owner)
        owner_free = self._free(owner_state, settings.owner_share, now)
        if not owner_free:
            return self._busy(owner, "owner_busy", owner_state, now)
        token = self._new_token()
        expires = now + settings.lease_seconds
        endpoint_slot = self._pick(free)
        if not self._store.take_slot(
            endpoint, endpoint_slot, token, now, expires, settings.breaker_failures, state.failures > 0
        ):
            return Deferral("endpoint_busy", now + self._short_wait(), young=True)  # lost a race just now
        owner_slot = self._pick(owner_free)
        suspect = state.failures > 0  # the endpoint's last attempt got no answer: this one may hang too
        if not self._store.take_slot(owner, owner_slot, token, now, expires, None, suspect):
            self._store.free_slot(endpoint, endpoint_slot, token, None)
            return Deferral("owner_busy", now + self._short_wait(), young=True)
        with self._held_lock:
            self._held.add(token)
        return Lease(endpoint, endpoint_slot, owner, owner_slot, token, state.failures)

    def remembered_for(self, webhook_id: str, now: float) -> Deferral | None:
        """The deferral a job for this webhook gets from a verdict this instance read less than
        ``remember_seconds`` ago (on the endpoint or its owner), without reading anything; None if there is none."""
        with self._held_lock:
            owner = self._owners.get(webhook_id)
        for scope in (FlowScope("endpoint", webhook_id), owner):
            remembered = None if scope is None else self._remembered(scope, now)
            if remembered is not None:
                return remembered
        return None

    def release(self, lease: Lease, failure: Failure | None, status: int | None, now: float) -> None:
        """Frees both slots; the endpoint's breaker learns how the attempt went."""
        with self._held_lock:
            self._held.discard(lease.token)
            self._verdicts.pop(lease.endpoint, None)  # its slots are free again (at least the one released)
            self._verdicts.pop(lease.owner, None)
        self._store.free_slot(
            lease.endpoint, lease.endpoint_slot, lease.token, self._breaker_change(lease, failure, status, now)
        )
        self._store.free_slot(lease.owner, lease.owner_slot, lease.token, None)

    def _breaker_change(
        self, lease: Lease, failure: Failure | None, status: int | None, now: float
    ) -> BreakerChange | None:
        settings = self._settings
        if failure in BREAKER_FAILURES:
            failures = lease.failures_before + 1
            open_until = None
            if failures >= settings.breaker_failures:
                doubling = 2.0 ** min(failures - settings.breaker_failures, 20)
                open_until = now + min(settings.breaker_open_seconds * doubling, settings.breaker_max_open_seconds)
            return BreakerChange(failed=True, open_until=open_until)
        if status is not None and lease.failures_before > 0:
            return BreakerChange(failed=False, open_until=None)  # an answer, whatever it said: closed
        return None  # nothing changes (an answer while closed, or a failure of ours)

    def _busy(self, scope: FlowScope, reason: str, state: FlowState, now: float) -> Deferral:
        """Slots held by attempts that began moments ago (likely quick): wait for one here, or try again shortly.
        Held for longer (a slow endpoint, up to its time limit): come back when the first of those leases runs
        out, not before, so that a flood of jobs for slow endpoints costs one deferral each per attempt time,
        not one a second.

        Waiting here holds this instance (its whole batch waits for the job). Behind a lease of this same
        instance that costs nobody anything (the instance waits on that owner's attempt anyway), so a job waits
        up to ``patience_seconds``; behind another instance's lease only ``foreign_patience_seconds``, so that
        one owner's flood holds a second instance for at most that long."""
        settings = self._settings
        held = {slot: expires for slot, expires in state.leases.items() if expires > now}
        if not held or state.suspect & held.keys():
            return self._until_expiry(scope, reason, held, now)
        with self._held_lock:
            mine = {slot for slot in held if state.holders.get(slot) in self._held}
        ages = {slot: now - (expires - settings.lease_seconds) for slot, expires in held.items()}
        if all(age < settings.patience_seconds for age in ages.values()):
            worth_waiting = all(
                age < (settings.patience_seconds if slot in mine else settings.foreign_patience_seconds)
                for slot, age in ages.items()
            )
            return Deferral(reason, now + self._short_wait(), young=worth_waiting)
        return self._until_expiry(scope, reason, held, now)

    def _until_expiry(self, scope: FlowScope, reason: str, held: dict[int, float], now: float) -> Deferral:
        return self._verdict(scope, reason, max(now, min(held.values(), default=now)), now)

    def _verdict(self, scope: FlowScope, reason: str, base: float, now: float) -> Deferral:
        """A deferral counted from ``base``, remembered for ``remember_seconds`` for the scope's next jobs."""
        with self._held_lock:
            if len(self._verdicts) >= _REMEMBERED_MAX:
                self._verdicts.clear()
            self._verdicts[scope] = (reason, base, now)
        return self._deferral(reason, base)

    def _remembered(self, scope: FlowScope, now: float) -> Deferral | None:
        with self._held_lock:
            verdict = self._verdicts.get(scope)
        if verdict is None:
            return None
        reason, base, read_at = verdict
        # Only while fresh, and only while the lease it waits for is still ahead.
        if not read_at <= now < read_at + self._settings.remember_seconds or base <= now:
            return None
        return self._deferral(reason, base)

    def _deferral(self, reason: str, base: float) -> Deferral:
        # Spread over a few seconds: the jobs that queued up behind a slow attempt do not all come back at once.
        settings = self._settings
        spread = self._uniform(settings.defer_min_seconds, settings.defer_min_seconds + settings.lease_seconds / 2)
        return Deferral(reason, base + spread)

    def _free(self, state: FlowState, slots: int, now: float) -> list[int]:
        return [slot for slot in range(slots) if slot not in state.leases or state.leases[slot] <= now]

    def _pick(self, free: list[int]) -> int:
        # Spread the contenders over the free slots, so two of them rarely race for the same one.
        return free[min(len(free) - 1, int(self._uniform(0, len(free))))]

    def _short_wait(self) -> float:
        return self._uniform(self._settings.defer_min_seconds, self._settings.defer_max_seconds)


class Unbounded:
    """No bounds, no breaker: for tools that time the delivery attempts alone."""

    def admit(self, subscription: Subscription, now: float) -> Lease:
        scope = FlowScope("endpoint", subscription.webhook_id)
        return Lease(scope, 0, scope, 0, "", 0)

    def release(self, lease: Lease, failure: Failure | None, status: int | None, now: float) -> None: ...

    def remembered_for(self, webhook_id: str, now: float) -> None:
        return None
