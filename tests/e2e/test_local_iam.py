"""IAM enforced in the local mode: a grant removed from a construct's role fails the pipeline, as in AWS.

Each test starts the local mode (no analyzer: moto's Rekognition answers) on a copy of the synthesized dev
assembly in which one statement of one role's policy lost one action; the unmodified assembly is what
test_local_pipeline.py runs, with the same enforcement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.tools.client import AppClient
from ops import backfill as ops_backfill
from ops.deployment import output_value
from stacks import outputs
from tests.support.images import image_bytes
from tests.support.local_process import LocalProcess
from tests.support.synth import synthesize

pytestmark = pytest.mark.e2e


def without_grant(target: Path, stack_part: str, action: str, resource_contains: str, role_contains: str = "") -> Path:
    """The dev assembly with ``action`` dropped from the one policy statement that grants it on that resource (to a
    role whose logical id contains ``role_contains``)."""
    source = synthesize("dev").outdir
    target.mkdir()
    for entry in source.iterdir():
        (target / entry.name).symlink_to(entry)
    [template_path] = [
        path for path in source.glob("*.template.json") if path.name.endswith(f"-{stack_part}.template.json")
    ]
    template = json.loads(template_path.read_text())
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy" or role_contains not in json.dumps(resource["Properties"]["Roles"]):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions and resource_contains in json.dumps(statement["Resource"]):
                statement["Action"] = [a for a in actions if a != action]
                found.append(statement)
    assert len(found) == 1, f"expected one statement granting {action} on *{resource_contains}*, found {found}"
    (target / template_path.name).unlink()
    (target / template_path.name).write_text(json.dumps(template))
    return target


def started(assembly: Path, work_dir: Path) -> Iterator[tuple[LocalProcess, AppClient]]:
    local = LocalProcess(assembly, work_dir, "--no-analyzer")
    try:
        local.wait_ready()
        client = AppClient.from_file(local.outputs_file)
        client.sign_in()
        yield local, client
    finally:
        local.stop()


@pytest.fixture
def worker_cannot_put_items(tmp_path: Path) -> Iterator[tuple[LocalProcess, AppClient]]:
    assembly = without_grant(
        tmp_path / "assembly", "Recognition", "dynamodb:PutItem", "ResultsTable", "RecognitionWorker"
    )
    yield from started(assembly, tmp_path / "work")


@pytest.fixture
def api_cannot_put_objects(tmp_path: Path) -> Iterator[tuple[LocalProcess, AppClient]]:
    assembly = without_grant(tmp_path / "assembly", "Api", "s3:PutObject", "/uploads/*")
    yield from started(assembly, tmp_path / "work")


def status_of(client: AppClient, image_id: str) -> Any:
    return client.call("GET", f"images/{image_id}").json()["status"]


def test_worker_without_put_item_fails_with_access_denied(
    worker_cannot_put_items: tuple[LocalProcess, AppClient],
) -> None:
    local, client = worker_cannot_put_items
    # When a photo is uploaded (the API's grants are intact)
    image_id = client.upload("cat.png", image_bytes(fmt="PNG"), "image/png", ["labels"])
    # Then the worker's write is refused as AWS refuses it, and the image is never analysed
    local.wait_for("AccessDenied", timeout=120)
    denied = [line for line in local.lines if "AccessDenied" in line]
    assert any("dynamodb:PutItem" in line and "ResultsTable" in line for line in denied), denied
    assert all("Worker" in line.split("|")[0] for line in denied), denied
    # (the failed record comes back only after its visibility timeout, 360 s in dev)
    assert status_of(client, image_id) not in ("COMPLETED", "FAILED")


def test_api_without_put_object_cannot_presign_an_upload_s3_accepts(
    api_cannot_put_objects: tuple[LocalProcess, AppClient],
) -> None:
    _, client = api_cannot_put_objects
    # When the API function hands out a presigned POST and the user posts the file with it
    ticket = client.create_upload("cat.png", "image/png")
    answer = client.post_file(ticket, image_bytes(fmt="PNG"), "image/png")
    # Then S3 checks the signer's permission at use time: AccessDenied, nothing stored
    assert answer.status == 403
    assert b"<Code>AccessDenied</Code>" in answer.body
    assert b"s3:PutObject" in answer.body


@pytest.fixture
def worker_cannot_read_the_library(tmp_path: Path) -> Iterator[tuple[LocalProcess, AppClient]]:
    assembly = without_grant(tmp_path / "assembly", "Recognition", "s3:GetObject", "/library/*", "RecognitionWorker")
    yield from started(assembly, tmp_path / "work")


def test_worker_without_the_backfill_read_grant_cannot_read_a_backfilled_object(
    worker_cannot_read_the_library: tuple[LocalProcess, AppClient],
) -> None:
    local, _ = worker_cannot_read_the_library
    document = json.loads(local.outputs_file.read_text())
    endpoint = document["Local"]["AwsEndpointUrl"]
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="l", aws_secret_access_key="l"
    )
    bucket = output_value(document, outputs.UPLOAD_BUCKET_NAME)
    s3.put_object(Bucket=bucket, Key="library/cat.png", Body=image_bytes(fmt="PNG"))
    # When make backfill queues the object (the function's own grants are intact)
    ops_backfill.main(["--outputs", str(local.outputs_file), "--stall-seconds", "0", "--poll-seconds", "0.1"])
    # Then the worker's read of the source is refused as AWS refuses it (a HEAD's 403 carries no error code)
    local.wait_for("HeadObject operation: Forbidden", timeout=120)
    refused = [line for line in local.lines if "HeadObject operation: Forbidden" in line]
    assert all("Worker" in line.split("|")[0] for line in refused), refused
