"""The environment's own endpoint, named in its config; its secret lives in Secrets Manager."""

from __future__ import annotations

import time
from collections.abc import Callable

from image_pipeline.webhooks.domain.model import ENVIRONMENT_WEBHOOK_ID, SigningSecret, Subscription
from image_pipeline.webhooks.domain.signing import SECRET_PREFIX

# The secret is read again after this long, so a rotation reaches warm functions within minutes.
SECRET_CACHE_SECONDS = 300


def parse_secret_value(value: str) -> tuple[SigningSecret, ...]:
    """One or more secrets, space-separated (during a rotation: the new one and the old one).

    A value without the ``whsec_`` prefix (what Secrets Manager generates: 32 letters and digits, read as
    base64) gets it, so the receiver configures ``whsec_<value>``.
    """
    tokens = value.split()
    if not tokens:
        raise ValueError("the fixed endpoint's secret is empty")
    return tuple(SigningSecret(t if t.startswith(SECRET_PREFIX) else SECRET_PREFIX + t, sealed=False) for t in tokens)


class EnvironmentEndpoint:
    def __init__(
        self,
        *,
        url: str,
        events: tuple[str, ...],
        read_secret: Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._events = events
        self._read_secret = read_secret
        self._clock = clock
        self._cached: tuple[float, tuple[SigningSecret, ...]] | None = None

    def subscription(self) -> Subscription | None:
        now = self._clock()
        if self._cached is None or now - self._cached[0] > SECRET_CACHE_SECONDS:
            self._cached = (now, parse_secret_value(self._read_secret()))
        return Subscription(
            webhook_id=ENVIRONMENT_WEBHOOK_ID,
            owner="",
            url=self._url,
            events=self._events,
            secrets=self._cached[1],
            created_at="",
            fixed=True,
        )
