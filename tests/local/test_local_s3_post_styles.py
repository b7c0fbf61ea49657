"""Presigned POST uploads are checked whatever addressing style the client uses (path or virtual-hosted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from local.emulator import SerialisedMotoServer

KEY_ID, SECRET = "AKIDSTYLES", "styles-secret"
BUCKET = "images"
MAX_BYTES = 10


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = SerialisedMotoServer(secrets={KEY_ID: SECRET})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def s3(emulator: str) -> Any:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=emulator,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )
    requests.post(f"{emulator}/moto-api/reset", timeout=10).raise_for_status()
    client.create_bucket(Bucket=BUCKET)
    return client


def presigned_fields(s3: Any, key: str) -> dict[str, str]:
    post = s3.generate_presigned_post(
        Bucket=BUCKET, Key=key, Conditions=[["content-length-range", 1, MAX_BYTES]], ExpiresIn=300
    )
    return dict(post["fields"])


STYLES = ["path", "virtual-hosted, AWS name", "virtual-hosted, localhost"]


def post_to_bucket(emulator: str, style: str, fields: dict[str, str], content: bytes) -> requests.Response:
    """A POST to the bucket in that addressing style."""
    port = emulator.rsplit(":", 1)[-1]
    url, headers = {
        "path": (f"{emulator}/{BUCKET}", {}),
        "virtual-hosted, AWS name": (f"{emulator}/", {"Host": f"{BUCKET}.s3.amazonaws.com"}),
        "virtual-hosted, localhost": (f"{emulator}/", {"Host": f"{BUCKET}.localhost:{port}"}),
    }[style]
    return requests.post(url, data=fields, files={"file": ("f", content)}, headers=headers, timeout=10)


@pytest.mark.parametrize("style", STYLES)
def test_the_policy_is_enforced_in_every_addressing_style(emulator: str, s3: Any, style: str) -> None:
    # Given a presigned POST for at most 10 bytes
    key = "uploads/one.bin"
    fields = presigned_fields(s3, key)
    # When 11 bytes are posted in this addressing style
    refused = post_to_bucket(emulator, style, fields, b"x" * 11)
    # Then S3's check refuses them, and nothing is stored
    assert refused.status_code == 400, (refused.status_code, refused.text)
    assert "EntityTooLarge" in refused.text
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0
    # And 5 bytes in the same style are stored
    stored = post_to_bucket(emulator, style, fields, b"x" * 5)
    assert stored.status_code == 204, (stored.status_code, stored.text)
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 5
