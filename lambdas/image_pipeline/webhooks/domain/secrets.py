"""Signing secrets at rest: sealed by the API (encrypt only), opened by the dispatcher (decrypt only).

A webhook has at most two live secrets: the current one and, for a while after a rotation, the previous
one. A sealed secret is bound to its webhook and owner (the seal's context), so a copy pasted into another
webhook's item cannot be opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from image_pipeline.webhooks.domain.model import SigningSecret, Subscription

MAX_LIVE_SECRETS = 2


@dataclass(frozen=True)
class SecretContext:
    """What a sealed secret is bound to."""

    webhook_id: str
    owner: str


class SecretSealer(Protocol):
    def seal(self, secret: str, context: SecretContext) -> str:
        """An opaque text that only the dispatcher can open, and only with the same context."""
        ...


class SecretOpener(Protocol):
    def open(self, sealed: str, context: SecretContext) -> str: ...


def context_of(subscription: Subscription) -> SecretContext:
    return SecretContext(webhook_id=subscription.webhook_id, owner=subscription.owner)


def rotated(
    secrets: tuple[SigningSecret, ...], new_sealed: str, overlap_end: float, *, expire_previous: bool
) -> tuple[SigningSecret, ...]:
    """The new current secret, then the previous current one until ``overlap_end`` (none when it is expired at
    once). Older secrets, still in a previous overlap, are retired: never more than two."""
    current = [s for s in secrets if s.expires_at is None]
    kept = () if expire_previous else tuple(SigningSecret(s.value, overlap_end, s.sealed) for s in current[:1])
    return (SigningSecret(new_sealed), *kept)


def sealed_all(
    secrets: tuple[SigningSecret, ...], context: SecretContext, sealer: SecretSealer
) -> tuple[SigningSecret, ...]:
    """The same secrets with every plain one sealed: an item written before secrets were sealed (a plain
    ``value``) keeps signing with the same secrets, and receivers notice nothing."""
    return tuple(s if s.sealed else SigningSecret(sealer.seal(s.value, context), s.expires_at) for s in secrets)


@dataclass(frozen=True)
class SealingReport:
    subscriptions: int  # subscriptions read
    sealed: int  # of which had plain secrets, now sealed
    secrets: int  # plain secrets sealed


class PlainSecretsRepository(Protocol):
    def all_subscriptions(self) -> Iterator[Subscription]: ...

    def get_subscription(self, webhook_id: str) -> Subscription | None: ...

    def replace_secrets(self, webhook_id: str, secrets: tuple[SigningSecret, ...], read_version: int) -> bool: ...


def seal_plain_secrets(repository: PlainSecretsRepository, sealer: SecretSealer, attempts: int = 3) -> SealingReport:
    """Seals every secret still stored plain (items written before secrets were sealed), one conditional write
    per subscription: a rotation that lands in between is never overwritten (its item is read again). Running
    it again finds nothing to do."""
    read = sealed = count = 0
    for found in repository.all_subscriptions():
        read += 1
        subscription: Subscription | None = found
        for _ in range(attempts):
            if subscription is None or all(s.sealed for s in subscription.secrets):
                break
            plain = sum(not s.sealed for s in subscription.secrets)
            secrets = sealed_all(subscription.secrets, context_of(subscription), sealer)
            if repository.replace_secrets(subscription.webhook_id, secrets, subscription.secrets_version):
                sealed, count = sealed + 1, count + plain
                break
            subscription = repository.get_subscription(found.webhook_id)
        else:
            raise RuntimeError(f"webhook {found.webhook_id}: its secrets kept changing; run again")
    return SealingReport(subscriptions=read, sealed=sealed, secrets=count)


def signing_secrets(subscription: Subscription, now: float, opener: Callable[[str, SecretContext], str]) -> list[str]:
    """The plaintext secrets to sign with, current first; sealed ones are opened, the environment's are plain."""
    context = context_of(subscription)
    return [
        opener(s.value, context) if s.sealed else s.value for s in subscription.live_secrets(now)[:MAX_LIVE_SECRETS]
    ]
