"""What webhook delivery needs from the outside world; adapters implement these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from image_pipeline.webhooks.domain.model import AttemptRecord, DeliveryJob, DeliveryStatus, SigningSecret, Subscription


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


class JobQueue(Protocol):
    def enqueue(self, jobs: list[DeliveryJob], now: float) -> None:
        """Sends each job, delayed until its ``not_before`` as far as SQS allows (15 min)."""
        ...

    def dead_letter(self, job: DeliveryJob) -> None: ...


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer: ...


class Clock(Protocol):
    def __call__(self) -> float: ...
