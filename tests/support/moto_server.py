"""moto as a real HTTP endpoint on loopback: the local mode's emulator (serialised, S3's POST checks in front)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from local.emulator import SerialisedMotoServer


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL; credentials are the test session's fake ones (tests/conftest.py)."""
    server = SerialisedMotoServer(secrets={os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
