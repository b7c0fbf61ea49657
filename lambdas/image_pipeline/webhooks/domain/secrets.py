"""Signing secrets at rest: sealed by the API (encrypt only), opened by the dispatcher (decrypt only).

A webhook has at most two live secrets: the current one and, for a while after a rotation, the previous
one. A sealed secret is bound to its webhook and owner (the seal's context), so a copy pasted into another
webhook's item cannot be opened.
"""

from __future__ import annotations

from collections.abc import Callable
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
    kept = () if expire_previous else tuple(SigningSecret(s.value, overlap_end) for s in current[:1])
    return (SigningSecret(new_sealed), *kept)


def signing_secrets(subscription: Subscription, now: float, opener: Callable[[str, SecretContext], str]) -> list[str]:
    """The plaintext secrets to sign with, current first; sealed ones are opened, the environment's are plain."""
    context = context_of(subscription)
    return [
        opener(s.value, context) if s.sealed else s.value for s in subscription.live_secrets(now)[:MAX_LIVE_SECRETS]
    ]
