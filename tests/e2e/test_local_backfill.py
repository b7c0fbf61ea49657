"""make backfill against the local mode: the same function, queue and worker as in AWS; ops/backfill.py stands in
for the Distributed Map (docs/local-mode.md). Every JPEG/PNG under the prefix is analysed once; a second run skips
them all. The worker reads the objects with its own role (IAM enforced): the construct's grant on library/ is used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from image_pipeline.shared.dynamo import from_item
from ops.deployment import client_for, output_value
from stacks import outputs
from stacks.config import LIBRARY_PREFIX

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _local(outputs_file: Path) -> dict[str, Any]:
    document = json.loads(outputs_file.read_text())
    if "Local" not in document:
        pytest.skip("backfill's e2e test writes into the bucket: local mode only")
    return dict(document)


def _backfill(outputs_file: Path, prefix: str) -> subprocess.CompletedProcess[str]:
    """What `make backfill OUTPUTS=... PREFIX=... OWNER=... FEATURES=labels` runs, without a terminal."""
    command = [sys.executable, "-m", "ops.backfill", "--outputs", str(outputs_file), "--prefix", prefix]
    command += ["--owner", "e2e-archive", "--features", "labels", "--stall-seconds", "120"]
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'lambdas'}"}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False)


def test_backfill_analyses_every_image_under_the_prefix_once(outputs_file: Path, photos: dict[str, bytes]) -> None:
    # Given three photos and a text file under a prefix of the library
    document = _local(outputs_file)
    bucket = output_value(document, outputs.UPLOAD_BUCKET_NAME)
    prefix = f"{LIBRARY_PREFIX}e2e-{uuid.uuid4().hex[:8]}/"
    s3 = client_for(document, "s3")
    for name, body in photos.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=body)
    s3.put_object(Bucket=bucket, Key=f"{prefix}notes.txt", Body=b"not an image")

    # When make backfill runs over it
    first = _backfill(outputs_file, prefix)

    # Then every image was analysed for the given owner, and the progress was shown line by line
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[-1].endswith("3 analysed, 0 skipped, 0 failed, 1 not JPEG/PNG, of 4 listed"), first.stdout
    assert any(line.startswith("[") and "remaining" in line for line in lines)
    table = output_value(document, outputs.RESULTS_TABLE_NAME)
    items = [from_item(item) for item in client_for(document, "dynamodb").scan(TableName=table)["Items"]]
    images = [i for i in items if i["sk"] == "IMAGE" and str(i["object"]["key"]).startswith(prefix)]
    assert sorted(str(image["object"]["key"]).removeprefix(prefix) for image in images) == sorted(photos)
    assert {(image["status"], image["owner"]) for image in images} == {("COMPLETED", "e2e-archive")}
    assert all(image["results"]["labels"] for image in images)

    # And a second run skips them all
    second = _backfill(outputs_file, prefix)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[-1].endswith("0 analysed, 3 skipped, 0 failed, 1 not JPEG/PNG, of 4 listed")
