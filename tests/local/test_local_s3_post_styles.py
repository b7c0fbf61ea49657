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


def styles(emulator: str) -> list[tuple[str, str, dict[str, str]]]:
    """(name, URL, extra headers) of a POST to the bucket in each addressing style."""
    port = emulator.rsplit(":", 1)[-1]
    return [
        ("path", f"{emulator}/{BUCKET}", {}),
        ("virtual-hosted, AWS name", f"{emulator}/", {"Host": f"{BUCKET}.s3.amazonaws.com"}),
        ("virtual-hosted, localhost", f"{emulator}/", {"Host": f"{BUCKET}.localhost:{port}"}),
    ]


def test_an_upload_beyond_the_policy_is_refused_in_every_addressing_style(emulator: str, s3: Any) -> None:
    for style, url, headers in styles(emulator):
        # Given a presigned POST for at most 10 bytes
        key = f"uploads/{style.replace(' ', '-').replace(',', '')}.bin"
        fields = presigned_fields(s3, key)
        # When 11 bytes are posted in this addressing style
        answer = requests.post(url, data=fields, files={"file": ("f", b"x" * 11)}, headers=headers, timeout=10)
        # Then S3's check refuses it, and nothing is stored
        assert answer.status_code == 400, (style, answer.status_code, answer.text)
        assert "EntityTooLarge" in answer.text, style
        assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0, style


def test_an_upload_within_the_policy_is_stored_in_every_addressing_style(emulator: str, s3: Any) -> None:
    for style, url, headers in styles(emulator):
        key = f"uploads/{style.replace(' ', '-').replace(',', '')}.bin"
        fields = presigned_fields(s3, key)
        answer = requests.post(url, data=fields, files={"file": ("f", b"x" * 5)}, headers=headers, timeout=10)
        assert answer.status_code == 204, (style, answer.status_code, answer.text)
        assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 5, style
