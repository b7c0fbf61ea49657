"""What webhook delivery needs from the outside world; adapters implement these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from image_pipeline.webhooks.domain.model import (
    FAILURE_TEXTS,
    AttemptRecord,
    DeliveryJob,
    DeliveryStatus,
    Failure,
    SigningSecret,
    Subscription,
)


@dataclass(frozen=True)
class DeliveryPage:
    items: list[dict[str, Any]]
    next_key: dict[str, Any] | None


@dataclass(frozen=True)
class DeliveryState:
    attempts: int
    created_at: float  # epoch seconds


@dataclass(frozen=True)
class EndpointAnswer:
    """What one attempt got: a status code, or none (timeout, refused connection, TLS failure)."""

    status: int | None
    latency_ms: int
    retry_after: str | None = None
    body_excerpt: str = ""
    error: str | None = None
    failure: Failure | None = None

    @classmethod
    def failed(cls, failure: Failure, latency_ms: int, error: str | None = None) -> EndpointAnswer:
        return cls(None, latency_ms, error=error or FAILURE_TEXTS[failure], failure=failure)


class WebhookRepository(Protocol):
    def create_subscription(self, subscription: Subscription) -> None: ...

    def get_subscription(self, webhook_id: str) -> Subscription | None: ...

    def list_subscriptions(self, owner: str) -> list[Subscription]:
        """The owner's subscriptions without their secrets (the owner index never carries them)."""
        ...

    def count_subscriptions(self, owner: str) -> int: ...

    def delete_subscription(self, webhook_id: str) -> None: ...

    def replace_secrets(self, webhook_id: str, secrets: tuple[SigningSecret, ...], read_version: int) -> bool:
        """Writes the secrets unless they changed since ``read_version`` (a concurrent rotation); False then."""
        ...

    def set_enabled(self, webhook_id: str) -> None: ...

    def note_failure(self, webhook_id: str, now: float) -> float | None:
        """Marks the endpoint failing (from ``now`` unless it already was); returns since when."""
        ...

    def note_success(self, webhook_id: str) -> None: ...

    def disable(self, webhook_id: str, reason: str, at: str) -> bool:
        """Disables an active endpoint; False when it was disabled already (or is gone)."""
        ...

    def create_delivery(self, job: DeliveryJob, created_at: str, expires_at: int) -> bool:
        """Writes the PENDING delivery record unless it exists; False when it did."""
        ...

    def delivery_state(self, webhook_id: str, delivery_key: str) -> DeliveryState | None:
        """How many attempts the delivery has recorded, and when it was created; None when unknown."""
        ...

    def record_attempt(
        self,
        job: DeliveryJob,
        attempt: AttemptRecord,
        status: DeliveryStatus,
        next_attempt_at: str | None,
    ) -> None: ...

    def list_deliveries(self, webhook_id: str, limit: int, start: dict[str, Any] | None) -> DeliveryPage: ...

    def find_delivery(self, webhook_id: str, message_id: str) -> DeliveryJob | None:
        """The job of the delivery with this ``webhook-id`` (None: unknown, expired, or kept without its body)."""
        ...

    def failed_deliveries_since(self, webhook_id: str, since: str) -> list[DeliveryJob]:
        """The jobs of the deliveries that FAILED, of events at or after ``since`` (ISO 8601, UTC)."""
        ...

    def reopen_delivery(self, job: DeliveryJob) -> None:
        """Marks a delivery PENDING again: it is about to be sent anew."""
        ...


@dataclass(frozen=True)
class FlowScope:
    """Whose delivery slots: one endpoint's (with its breaker) or one owner's."""

    kind: Literal["endpoint", "owner"]
    name: str


@dataclass(frozen=True)
class FlowState:
    leases: dict[int, float] = field(default_factory=dict)  # slot -> when its lease expires (epoch seconds)
    holders: dict[int, str] = field(default_factory=dict)  # slot -> the token of the lease that holds it
    # Slots held for an endpoint that had just failed (likely slow): nobody waits for those in place.
    suspect: frozenset[int] = frozenset()
    failures: int = 0  # attempts in a row without an HTTP answer
    open_until: float | None = None  # the breaker is open until then


@dataclass(frozen=True)
class BreakerChange:
    failed: bool  # True: one more failure in a row; False: closed (the count starts again)
    open_until: float | None = None


class FlowStore(Protocol):
    def flow_state(self, scope: FlowScope) -> FlowState: ...

    def take_slot(
        self,
        scope: FlowScope,
        slot: int,
        token: str,
        now: float,
        expires_at: float,
        breaker_failures: int | None,
        suspect: bool = False,
    ) -> bool:
        """Takes ``slot`` unless it is held by a lease that has not expired, or (when ``breaker_failures`` is
        given) the breaker is open at ``now``, or it has tripped and ``slot`` is not the probe slot 0."""
        ...

    def free_slot(self, scope: FlowScope, slot: int, token: str, breaker: BreakerChange | None) -> None:
        """Frees the slot if ``token`` still holds it; applies ``breaker`` either way."""
        ...

    def close_breaker(self, scope: FlowScope) -> None: ...

    def take_test_send(self, webhook_id: str, window_start: int, limit: int, expires_at: int) -> bool:
        """Counts one test send in the window; False when ``limit`` were already counted there."""
        ...


class JobQueue(Protocol):
    def enqueue(self, jobs: list[DeliveryJob], now: float) -> None:
        """Sends each job, delayed until its ``not_before`` as far as SQS allows (15 min)."""
        ...

    def dead_letter(self, job: DeliveryJob) -> None: ...


class ObjectLinks(Protocol):
    def presign_display(self, *, key: str, version_id: str | None, expires_in: int) -> str:
        """A presigned GET URL of one object (version), valid for ``expires_in`` seconds at most."""
        ...


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer: ...


class Clock(Protocol):
    def __call__(self) -> float: ...
