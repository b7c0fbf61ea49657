"""The real backfill function (its environment from the synthesized template) and the real worker against moto:
the events are the ones the Distributed Map hands its item processor (ops/backfill.py makes them the same way)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from image_pipeline.backfill import composition as backfill_composition
from image_pipeline.backfill import handler as backfill
from image_pipeline.backfill.adapters.runs_table import BackfillRuns
from image_pipeline.backfill.domain.backfill import BacklogFull, RunProgress
from ops.backfill import batches, listed_items, run_input
from stacks.config import LIBRARY_PREFIX
from tests.handlers.conftest import BACKFILL_HANDLER, Harness
from tests.handlers.test_dead_letters import _receive_until_dead_lettered
from tests.handlers.test_worker import _attempts
from tests.support.images import image_bytes
from tests.support.lambda_sqs import LambdaContext


@pytest.fixture
def library(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """Three photos, a PNG and a text file under the library prefix; the backfill function's environment set."""
    for name, value in harness.pipeline.stacks.environment(BACKFILL_HANDLER).items():
        monkeypatch.setenv(name, value)
    backfill_composition.components.cache_clear()
    s3, bucket = harness.pipeline.s3, harness.pipeline.bucket
    for index, key in enumerate(["a.jpg", "b.jpeg", "c.JPG", "d.png"]):
        body = image_bytes(fmt="PNG" if key.endswith("png") else "JPEG", seed=index)
        s3.put_object(Bucket=bucket, Key=f"{LIBRARY_PREFIX}{key}", Body=body)
    s3.put_object(Bucket=bucket, Key=f"{LIBRARY_PREFIX}readme.txt", Body=b"not an image")
    yield harness
    backfill_composition.components.cache_clear()


def run(harness: Harness, run_id: str, *, owner: str = "anonymous", features: str = "") -> list[dict[str, Any]]:
    """The map's batches (2 objects each) through the function; then the worker drains the queue."""
    s3, bucket = harness.pipeline.s3, harness.pipeline.bucket
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LIBRARY_PREFIX)
    batch_input = run_input(run_id, bucket, LIBRARY_PREFIX, owner, features)
    del batch_input["prefix"]
    answers = [backfill.handler(event, LambdaContext()) for event in batches(listed_items(iter(pages)), batch_input, 2)]
    assert all(batch.failed_ids == [] for batch in harness.drain())
    return answers


def progress(harness: Harness, run_id: str) -> RunProgress:
    return BackfillRuns(harness.pipeline.dynamodb, harness.pipeline.table).read(run_id)


def test_every_jpeg_and_png_under_the_prefix_is_analysed_for_the_owner(library: Harness) -> None:
    answers = run(library, "run-1", owner="archive", features="labels")
    assert sum(answer["queued"] for answer in answers) == 4
    images = library.images()
    assert len(images) == 4
    assert {(image["status"], image["owner"]) for image in images} == {("COMPLETED", "archive")}
    assert {image["object"]["key"] for image in images} == {
        f"{LIBRARY_PREFIX}{k}" for k in ("a.jpg", "b.jpeg", "c.JPG", "d.png")
    }
    assert library.rekognition.calls == {"DetectLabels": 4}
    assert progress(library, "run-1") == RunProgress("run-1", listed=5, ignored=1, skipped=0, queued=4, done=4)
    assert sorted(event["type"] for event in library.events()) == ["image.analyzed"] * 4


def test_a_second_run_skips_every_object_analysed_and_pays_nothing(library: Harness) -> None:
    run(library, "run-1")
    paid = dict(library.rekognition.calls)
    answers = run(library, "run-2")
    assert sum(answer["queued"] for answer in answers) == 0
    assert library.rekognition.calls == paid
    assert progress(library, "run-2") == RunProgress("run-2", listed=5, ignored=1, skipped=4)
    assert progress(library, "run-2").remaining == 0


def test_a_run_with_one_more_feature_pays_for_that_feature_only(library: Harness) -> None:
    run(library, "run-1", features="labels")
    run(library, "run-2", features="labels,text")
    assert library.rekognition.calls == {"DetectLabels": 4, "DetectText": 4}
    assert {tuple(image["features"]) for image in library.images()} == {("labels", "text")}
    assert progress(library, "run-2") == RunProgress("run-2", listed=5, ignored=1, queued=4, done=4)


def test_a_batch_run_twice_is_counted_once_per_image(library: Harness) -> None:
    s3, bucket = library.pipeline.s3, library.pipeline.bucket
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{LIBRARY_PREFIX}a")
    batch_input = {"runId": "run-1", "bucket": bucket, "owner": "anonymous", "features": ""}
    [event] = batches(listed_items(iter(pages)), batch_input, 10)
    backfill.handler(event, LambdaContext())
    backfill.handler(event, LambdaContext())  # the map retried the batch before the worker got to it
    library.drain()
    assert library.rekognition.calls == {"DetectLabels": 1, "DetectText": 1}  # the environment's default features
    assert progress(library, "run-1").done == 1


def test_a_bucket_outside_the_allowed_sources_is_refused(library: Harness) -> None:
    library.pipeline.s3.create_bucket(Bucket="someone-elses")
    library.pipeline.s3.put_object(Bucket="someone-elses", Key="x.jpg", Body=image_bytes())
    event = {
        "BatchInput": {"runId": "run-1", "bucket": "someone-elses", "owner": "anonymous", "features": ""},
        "Items": [{"Key": "x.jpg", "Etag": '"e"', "Size": 10}],
    }
    assert backfill.handler(event, LambdaContext())["failed"] == 1
    assert library.receive_raw() == []


def test_a_batch_is_refused_while_the_upload_queue_holds_more_than_the_backlog_allows(
    library: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backfill allowed a backlog of 2 and 3 uploads waiting on the queue
    monkeypatch.setenv("MAX_BACKLOG", "2")
    backfill_composition.components.cache_clear()
    for _ in range(3):
        library.pipeline.sqs.send_message(QueueUrl=library.pipeline.queue_url, MessageBody="{}")
    s3, bucket = library.pipeline.s3, library.pipeline.bucket
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LIBRARY_PREFIX)
    batch_input = {"runId": "run-1", "bucket": bucket, "owner": "anonymous", "features": ""}
    [event] = batches(listed_items(iter(pages)), batch_input, 10)
    # When the map hands it a batch, then it fails with the error the state machine retries later
    with pytest.raises(BacklogFull):
        backfill.handler(event, LambdaContext())
    assert library.images() == []
    assert progress(library, "run-1") == RunProgress("run-1")


def test_a_dead_lettered_backfill_fails_its_image_and_counts_it_as_failed_for_the_run(
    library: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one photo under the prefix, and DetectLabels failing on every attempt the queue allows
    s3, bucket = library.pipeline.s3, library.pipeline.bucket
    for key in ("b.jpeg", "c.JPG", "d.png", "readme.txt"):
        s3.delete_object(Bucket=bucket, Key=f"{LIBRARY_PREFIX}{key}")
    _attempts(monkeypatch, 1)
    library.rekognition.fail(
        "DetectLabels", "InternalServerError", times=library.pipeline.max_receive_count, status=500
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LIBRARY_PREFIX)
    batch_input = run_input("run-dl", bucket, LIBRARY_PREFIX, "archive", "labels")
    del batch_input["prefix"]
    for event in batches(listed_items(iter(pages)), batch_input, 2):
        backfill.handler(event, LambdaContext())
    # When every receive of its message fails and the message goes to the dead-letter queue
    dead = _receive_until_dead_lettered(library)
    # Then the image is not left PENDING: FAILED (DEAD_LETTERED), announced, and the run counts it as failed
    # (it settles instead of waiting for an image that will not come)
    assert len(dead) == 1
    image = library.only_image()
    assert (image["status"], image["error"]["code"], image["owner"]) == ("FAILED", "DEAD_LETTERED", "archive")
    assert [event["type"] for event in library.events()] == ["image.failed"]
    assert progress(library, "run-dl") == RunProgress("run-dl", listed=1, queued=1, failed=1)
    # And its source object, which belongs to the bucket's owner, is still there
    assert s3.head_object(Bucket=bucket, Key=f"{LIBRARY_PREFIX}a.jpg")["ContentLength"] > 0
