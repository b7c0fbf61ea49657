"""Subscriptions, delivery jobs and attempt records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from image_pipeline.results.domain.documents import ResultsRef
from image_pipeline.webhooks.domain.payload import PLATFORM_EVENT_TYPES

# The environment's fixed endpoint (from its config) is delivered to under this webhook id.
ENVIRONMENT_WEBHOOK_ID = "environment"
JOB_KIND = "webhook.delivery"
# Counted once per endpoint disabled (410 or failing for days); the integration stack alarms on it.
ENDPOINTS_DISABLED_METRIC = "WebhookEndpointsDisabled"


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    RETRYING = "RETRYING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class AttemptOutcome(StrEnum):
    """How one attempt ended, and so what happens next."""

    DELIVERED = "delivered"  # 2xx within the timeout
    RETRY = "retry"  # 3xx, 429, 5xx, timeout, connection error, a host name that does not resolve
    FAILED = "failed"  # any other 4xx: this delivery is given up, the endpoint stays
    GONE = "gone"  # 410: the endpoint is disabled
    REFUSED = "refused"  # the URL now resolves to an address webhooks may not reach


# The delivery log keeps this much of each answer's body (UTF-8 bytes, a cut character dropped).
RESPONSE_EXCERPT_BYTES = 1024


def response_excerpt(text: str) -> str:
    """The first ``RESPONSE_EXCERPT_BYTES`` of an answer as text (the transport already replaced invalid bytes)."""
    return text.encode()[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="ignore")


class Failure(StrEnum):
    """Why an attempt did not deliver, as the owner sees it (never the socket's own words)."""

    TIMEOUT = "timeout"  # no status and headers within the attempt's time limit
    REFUSED = "refused"  # the connection was refused
    CONNECTION = "connection"  # reset, unreachable, closed before an answer
    TLS = "tls"  # handshake or certificate
    DNS = "dns"  # the host name did not resolve
    INVALID_RESPONSE = "invalid_response"  # not a readable HTTP answer
    HTTP_STATUS = "http_status"  # an answer other than 2xx
    BLOCKED = "blocked"  # the address or port may not receive webhooks
    INTERNAL = "internal"  # the dispatcher failed while handling the attempt (retried)


# What the delivery log says for each failure class; the status code and latency are recorded beside it.
FAILURE_TEXTS = {
    Failure.TIMEOUT: "no answer within the time limit",
    Failure.REFUSED: "the connection was refused",
    Failure.CONNECTION: "the connection failed or was closed before an answer",
    Failure.TLS: "TLS failed (handshake or certificate)",
    Failure.DNS: "the host name does not resolve",
    Failure.INVALID_RESPONSE: "the answer was not valid HTTP",
    Failure.HTTP_STATUS: "the endpoint answered with a status other than 2xx",
    Failure.BLOCKED: "the address may not receive webhooks",
    Failure.INTERNAL: "the dispatcher could not complete the attempt; it will be retried",
}


def classify(status: int | None) -> AttemptOutcome:
    if status is None:
        return AttemptOutcome.RETRY
    if 200 <= status < 300:
        return AttemptOutcome.DELIVERED
    if status == 410:
        return AttemptOutcome.GONE
    if 400 <= status < 500 and status != 429:
        return AttemptOutcome.FAILED
    return AttemptOutcome.RETRY  # 1xx as a final answer, 3xx, 429, 5xx


@dataclass(frozen=True)
class SigningSecret:
    """A webhook's secret as stored: sealed (domain/secrets.py), or plain for the environment's endpoint."""

    value: str = field(repr=False)
    expires_at: float | None = None  # epoch seconds; None for the current secret
    sealed: bool = True


@dataclass(frozen=True)
class Subscription:
    webhook_id: str
    owner: str
    url: str
    events: tuple[str, ...]
    secrets: tuple[SigningSecret, ...] = field(repr=False)
    created_at: str
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    failing_since: float | None = None
    disabled_reason: str | None = None
    disabled_at: str | None = None
    # The environment's fixed endpoint: not stored in the table, never disabled by the dispatcher.
    fixed: bool = False
    # Bumped by every rotation: a rotation writes only over the version it read.
    secrets_version: int = 0

    def live_secrets(self, now: float) -> list[SigningSecret]:
        """The current secret first, then a rotated-out one still inside its overlap."""
        live = [s for s in self.secrets if s.expires_at is None or s.expires_at > now]
        live.sort(key=lambda s: s.expires_at is not None)
        return live

    def wants(self, event_type: str) -> bool:
        return event_type in PLATFORM_EVENT_TYPES or event_type in self.events

    @property
    def active(self) -> bool:
        return self.status is SubscriptionStatus.ACTIVE

    def with_secrets(self, secrets: tuple[SigningSecret, ...]) -> Subscription:
        return replace(self, secrets=secrets)


@dataclass(frozen=True)
class DeliveryJob:
    """One event for one endpoint; travels through the dispatch queue from attempt to attempt."""

    webhook_id: str
    message_id: str
    delivery_key: str
    event_type: str
    body: str
    first_attempt_at: float
    attempt: int = 1  # the attempt this job will make
    not_before: float = 0.0
    # A result too large for the event: each attempt links to this document with a fresh presigned URL.
    results: ResultsRef | None = None

    def to_message(self) -> str:
        return json.dumps(
            {
                "kind": JOB_KIND,
                "webhookId": self.webhook_id,
                "messageId": self.message_id,
                "deliveryKey": self.delivery_key,
                "eventType": self.event_type,
                "body": self.body,
                "firstAttemptAt": self.first_attempt_at,
                "attempt": self.attempt,
                "notBefore": self.not_before,
                **({"resultsRef": self.results.document()} if self.results else {}),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DeliveryJob:
        return cls(
            webhook_id=str(message["webhookId"]),
            message_id=str(message["messageId"]),
            delivery_key=str(message["deliveryKey"]),
            event_type=str(message["eventType"]),
            body=str(message["body"]),
            first_attempt_at=float(message["firstAttemptAt"]),
            attempt=int(message["attempt"]),
            not_before=float(message.get("notBefore", 0)),
            results=ResultsRef.from_document(message.get("resultsRef")),
        )

    def deferred(self, not_before: float) -> DeliveryJob:
        """The same attempt, later: it found no free slot (or the endpoint's breaker open)."""
        return replace(self, not_before=not_before)

    def next(self, not_before: float) -> DeliveryJob:
        return replace(self, attempt=self.attempt + 1, not_before=not_before)

    def restarted(self, now: float) -> DeliveryJob:
        """The same delivery (same webhook-id and body) with a fresh retry window: what a redrive replays."""
        return replace(self, attempt=1, first_attempt_at=now, not_before=now)


def is_job(message: dict[str, Any]) -> bool:
    return message.get("kind") == JOB_KIND


@dataclass(frozen=True)
class AttemptRecord:
    attempt: int
    at: str
    outcome: AttemptOutcome
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str = ""
    failure: Failure | None = None

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "attempt": self.attempt,
            "at": self.at,
            "outcome": self.outcome.value,
            "latencyMs": self.latency_ms,
            "statusCode": self.status_code,
        }
        if self.failure is not None:
            document["failure"] = self.failure.value
        if self.error:
            document["error"] = self.error
        if self.response_excerpt:
            document["response"] = self.response_excerpt
        return document
