"""What the webhook routes do: subscriptions owned by one user, secrets, test events, delivery history."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from image_pipeline.shared.errors import Conflict, InvalidRequest, NotFound, RateLimited
from image_pipeline.shared.page_tokens import decode_token, encode_token
from image_pipeline.webhooks.domain.dispatch import DeliveryQueue, iso
from image_pipeline.webhooks.domain.model import DeliveryJob, SigningSecret, Subscription, SubscriptionStatus
from image_pipeline.webhooks.domain.payload import (
    IMAGE_EVENT_TYPES,
    platform_payload,
    serialise,
    webhook_test_event,
)
from image_pipeline.webhooks.domain.ports import FlowScope, FlowStore, WebhookRepository
from image_pipeline.webhooks.domain.secrets import SecretContext, SecretSealer, rotated, sealed_all
from image_pipeline.webhooks.domain.signing import generate_secret
from image_pipeline.webhooks.domain.targets import Resolver, TargetPolicy, check_url, system_resolver

MAX_WEBHOOKS_PER_OWNER = 10
# Test sends per webhook and minute (POST /webhooks/{id}/test); more answer 429 with Retry-After.
TEST_SENDS_PER_MINUTE = 5
_TEST_WINDOW_SECONDS = 60
# After a rotation the previous secret signs too, for this long, so receivers can switch without a gap.
ROTATION_OVERLAP_SECONDS = 24 * 3600
# A rotation that lost a race with another re-reads and tries again this often before giving up (409).
ROTATION_ATTEMPTS = 3
# Recover reaches back as far as delivery records are kept, and re-queues at most this many at once.
RECOVER_WINDOW_SECONDS = 30 * 24 * 3600
MAX_RECOVERED = 1000


@dataclass(frozen=True)
class CreatedWebhook:
    subscription: Subscription
    secret: str


@dataclass(frozen=True)
class RotatedSecret:
    secret: str
    previous_secret_expires_at: str | None  # None when the previous secret was expired at once


@dataclass(frozen=True)
class DeliveryHistory:
    items: list[dict[str, Any]]
    next_token: str | None


class WebhookService:
    def __init__(
        self,
        *,
        repository: WebhookRepository,
        flows: FlowStore,
        deliveries: DeliveryQueue,
        policy: TargetPolicy,
        secrets: SecretSealer,
        test_sends_per_minute: int = TEST_SENDS_PER_MINUTE,
        resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repository = repository
        self._flows = flows
        self._test_sends_per_minute = test_sends_per_minute
        self._deliveries = deliveries
        self._policy = policy
        self._secrets = secrets
        self._resolver = resolver
        self._clock = clock

    def create(self, owner: str, url: str, events: list[str]) -> CreatedWebhook:
        unknown = sorted(set(events) - set(IMAGE_EVENT_TYPES))
        if unknown or not events:
            raise InvalidRequest(f"events must be a non-empty subset of {list(IMAGE_EVENT_TYPES)}; got {unknown}")
        check_url(url, self._policy, self._resolver)
        if self._repository.count_subscriptions(owner) >= MAX_WEBHOOKS_PER_OWNER:
            raise Conflict(f"at most {MAX_WEBHOOKS_PER_OWNER} webhooks per user")
        secret = generate_secret()
        webhook_id = "wh_" + secrets.token_hex(12)
        subscription = Subscription(
            webhook_id=webhook_id,
            owner=owner,
            url=url,
            events=tuple(sorted(set(events))),
            secrets=(SigningSecret(self._secrets.seal(secret, SecretContext(webhook_id, owner))),),
            created_at=iso(self._clock()),
        )
        self._repository.create_subscription(subscription)
        return CreatedWebhook(subscription, secret)

    def list(self, owner: str) -> list[Subscription]:
        return self._repository.list_subscriptions(owner)

    def get(self, owner: str, webhook_id: str) -> Subscription:
        """The caller's subscription; somebody else's is as unknown as one that never existed."""
        subscription = self._repository.get_subscription(webhook_id)
        if subscription is None or subscription.owner != owner:
            raise NotFound(f"webhook {webhook_id} not found")
        return subscription

    def delete(self, owner: str, webhook_id: str) -> None:
        self.get(owner, webhook_id)
        self._repository.delete_subscription(webhook_id)

    def rotate_secret(self, owner: str, webhook_id: str, *, expire_previous: bool = False) -> RotatedSecret:
        """A new current secret; the previous one signs too for 24 hours, or stops at once when
        ``expire_previous`` (a leaked secret). A conditional write: a concurrent rotation is never lost, the
        later one re-reads and keeps the earlier one's secret as its previous one."""
        secret = generate_secret()
        sealed = self._secrets.seal(secret, SecretContext(webhook_id, owner))
        for _ in range(ROTATION_ATTEMPTS):
            subscription = self.get(owner, webhook_id)
            overlap_end = self._clock() + ROTATION_OVERLAP_SECONDS
            kept = rotated(subscription.secrets, sealed, overlap_end, expire_previous=expire_previous)
            kept = sealed_all(kept, SecretContext(webhook_id, owner), self._secrets)  # a plain one of old
            if self._repository.replace_secrets(webhook_id, kept, subscription.secrets_version):
                return RotatedSecret(
                    secret=secret, previous_secret_expires_at=None if expire_previous else iso(overlap_end)
                )
        raise Conflict(f"webhook {webhook_id}: its secret is being rotated by another request; try again")

    def enable(self, owner: str, webhook_id: str) -> Subscription:
        """Enables a disabled webhook (its URL checked again) and closes its circuit breaker either way."""
        subscription = self.get(owner, webhook_id)
        if subscription.status is SubscriptionStatus.DISABLED:
            check_url(subscription.url, self._policy, self._resolver)
            self._repository.set_enabled(webhook_id)
        self._flows.close_breaker(FlowScope("endpoint", webhook_id))
        return self.get(owner, webhook_id)

    def send_test(self, owner: str, webhook_id: str) -> DeliveryJob:
        subscription = self._active(owner, webhook_id)
        self._count_test_send(webhook_id)
        event = webhook_test_event(webhook_id)
        [job] = self._deliveries.queue([subscription], event, serialise(platform_payload(event)))
        return job

    def resend(self, owner: str, webhook_id: str, message_id: str) -> DeliveryJob:
        """Sends one delivery again (same webhook-id and body), whatever became of it."""
        self._active(owner, webhook_id)
        job = self._repository.find_delivery(webhook_id, message_id)
        if job is None:
            raise NotFound(f"delivery {message_id} of webhook {webhook_id} not found")
        self._deliveries.send_again([job])
        return job

    def recover(self, owner: str, webhook_id: str, since: float) -> int:
        """Sends again every delivery that failed, of events since ``since``. Records are kept 30 days, so an
        earlier ``since`` recovers those 30 days; a ``since`` in the future finds nothing."""
        self._active(owner, webhook_id)
        since = max(since, self._clock() - RECOVER_WINDOW_SECONDS)
        jobs = self._repository.failed_deliveries_since(webhook_id, iso(since))[:MAX_RECOVERED]
        self._deliveries.send_again(jobs)
        return len(jobs)

    def _active(self, owner: str, webhook_id: str) -> Subscription:
        subscription = self.get(owner, webhook_id)
        if not subscription.active:
            raise Conflict(f"webhook {webhook_id} is disabled ({subscription.disabled_reason}); enable it first")
        return subscription

    def _count_test_send(self, webhook_id: str) -> None:
        now = self._clock()
        window = int(now // _TEST_WINDOW_SECONDS) * _TEST_WINDOW_SECONDS
        expires = window + 2 * _TEST_WINDOW_SECONDS
        if not self._flows.take_test_send(webhook_id, window, self._test_sends_per_minute, expires):
            retry_after = max(1, math.ceil(window + _TEST_WINDOW_SECONDS - now))
            raise RateLimited(
                f"at most {self._test_sends_per_minute} test sends per webhook and minute; "
                f"try again in {retry_after} s",
                retry_after,
            )

    def deliveries(self, owner: str, webhook_id: str, limit: int, next_token: str | None) -> DeliveryHistory:
        self.get(owner, webhook_id)
        scope = f"deliveries:{webhook_id}"
        start = decode_token(next_token, scope) if next_token else None
        page = self._repository.list_deliveries(webhook_id, limit, start)
        token = encode_token(page.next_key, scope) if page.next_key else None
        return DeliveryHistory(items=page.items, next_token=token)
