"""The worker handler end to end in moto: bucket -> topic -> queue -> handler -> table and events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from image_pipeline.events.adapters.sns_events import SnsEventPublisher
from image_pipeline.events.domain.events import MAX_EVENT_BYTES
from image_pipeline.recognition import composition as worker_composition
from image_pipeline.recognition import intake
from image_pipeline.recognition.adapters.rekognition import RekognitionRecognizer
from image_pipeline.recognition.domain.image_header import MAX_IMAGE_BYTES
from image_pipeline.recognition.intake import process_message
from image_pipeline.results.adapters.results_table import ResultsStore
from image_pipeline.results.domain.records import ImageRecord, Status, now_iso
from tests.handlers.conftest import Harness
from tests.support.fake_rekognition import ANSWERS, FEATURE_OPERATIONS
from tests.support.images import image_bytes, jpeg_with_large_exif


def test_an_upload_is_analysed_with_the_default_features(harness: Harness) -> None:
    # Given an image uploaded with no feature choice
    photo = image_bytes(640, 480)
    harness.upload("uploads/cat.jpg", photo, owner="alice")
    # When the worker is fed what the queue holds
    [batch] = harness.drain()
    # Then the dev defaults (labels, text) were called once each, on the S3 object, and stored
    assert batch.failed_ids == []
    assert harness.rekognition.calls == {"DetectLabels": 1, "DetectText": 1}
    for _, request in harness.rekognition.requests:
        assert request["Image"] == {"S3Object": {"Bucket": harness.pipeline.bucket, "Name": "uploads/cat.jpg"}}
    image = harness.only_image()
    assert image["status"] == "COMPLETED"
    assert image["owner"] == "alice"
    assert image["image"] == {"format": "JPEG", "width": 640, "height": 480, "sizeBytes": len(photo)}
    assert image["results"]["labels"][0]["name"] == "Cat"
    assert image["results"]["text"]["lines"][0]["text"] == "HELLO"
    [event] = harness.events()
    assert (event["type"], event["data"]["imageId"]) == ("image.analyzed", image["imageId"])


@pytest.mark.parametrize("feature", list(FEATURE_OPERATIONS))
def test_each_feature_makes_exactly_its_one_call(harness: Harness, feature: str) -> None:
    harness.upload("uploads/one.png", image_bytes(300, 300, "PNG"), features=feature)
    harness.drain()
    assert harness.rekognition.calls == {FEATURE_OPERATIONS[feature]: 1}
    image = harness.only_image()
    assert list(image["results"]) == [feature]
    assert image["features"] == [feature]


def test_a_subset_of_features_costs_only_those_calls(harness: Harness) -> None:
    harness.upload("uploads/two.jpg", image_bytes(), features="faces,labels")
    harness.drain()
    assert harness.rekognition.calls == {"DetectFaces": 1, "DetectLabels": 1}
    assert sorted(harness.only_image()["results"]) == ["faces", "labels"]


def test_an_image_id_and_owner_from_the_api_metadata_are_kept(harness: Harness) -> None:
    harness.upload("uploads/bob/abc/x.jpg", image_bytes(), owner="bob", **{"image-id": "0f8a5c1e-api"})
    harness.drain()
    image = harness.only_image()
    assert (image["imageId"], image["owner"]) == ("0f8a5c1e-api", "bob")


def _pending(harness: Harness, image_id: str, owner: str = "bob") -> tuple[ResultsStore, ImageRecord]:
    """What POST /images stores before the upload: a PENDING image under its key, its ticket unspent."""
    table = ResultsStore(harness.pipeline.dynamodb, harness.pipeline.table)
    now = now_iso()
    record = ImageRecord(
        image_id=image_id,
        owner=owner,
        status=Status.PENDING,
        created_at=now,
        updated_at=now,
        object={"bucket": harness.pipeline.bucket, "key": f"uploads/{owner}/{image_id}.jpg", "etag": None,
                "versionId": None},
        object_identity="",
        features=("labels",),
    )  # fmt: skip
    table.create_pending(record)
    return table, record


def _upload_with_ticket(harness: Harness, record: ImageRecord, seed: int) -> None:
    """An upload through the image's presigned POST: its key and the metadata the policy pins."""
    metadata = {"owner": record.owner, "features": "labels", "image-id": record.image_id}
    harness.upload(str(record.object["key"]), image_bytes(seed=seed), **metadata)


def _versions(harness: Harness, key: str) -> list[str]:
    listed = harness.pipeline.s3.list_object_versions(Bucket=harness.pipeline.bucket, Prefix=key)
    return [version["VersionId"] for version in listed.get("Versions", [])]


def test_an_upload_landing_after_its_image_was_deleted_does_not_bring_the_image_back(harness: Harness) -> None:
    # Given an image the API created (PENDING) and its owner deleted before the upload arrived
    table, record = _pending(harness, "0f8a5c1e-gone")
    table.delete_image(record)
    # When the upload made with the still valid presigned POST lands
    _upload_with_ticket(harness, record, seed=1)
    [batch] = harness.drain()
    # Then it is not analysed (no cost), the image stays deleted, and the object is removed (no erasure gap)
    assert batch.failed_ids == []
    assert harness.rekognition.calls == {}
    assert harness.images() == []
    assert harness.events() == []
    assert harness.pipeline.s3.list_objects_v2(Bucket=harness.pipeline.bucket).get("Contents", []) == []


def test_one_upload_ticket_buys_one_analysis_later_objects_on_its_key_are_removed_unread(harness: Harness) -> None:
    # Given an image created through the API and analysed from its first upload
    table, record = _pending(harness, "0f8a5c1e-once")
    _upload_with_ticket(harness, record, seed=1)
    harness.drain()
    first = table.get_image(record.image_id)
    assert first is not None
    assert first.status is Status.COMPLETED
    # When the same presigned POST is used three more times, with other bytes each time
    for seed in (2, 3, 4):
        _upload_with_ticket(harness, record, seed=seed)
        [batch] = harness.drain()
        assert batch.failed_ids == []
    # Then only the first upload was paid for and announced; the result is exactly as it was
    assert harness.rekognition.calls == {"DetectLabels": 1}
    assert len(harness.events()) == 1
    assert table.get_image(record.image_id) == first
    # and what the later uploads left under the key is removed (the bucket keeps no versions in dev)
    assert harness.pipeline.s3.list_objects_v2(Bucket=harness.pipeline.bucket).get("Contents", []) == []


def test_in_a_versioned_bucket_a_later_upload_is_removed_and_the_first_stays_displayable(harness: Harness) -> None:
    # Given a versioned bucket (every environment but dev) and an image analysed from its first upload
    harness.pipeline.s3.put_bucket_versioning(
        Bucket=harness.pipeline.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    table, record = _pending(harness, "0f8a5c1e-vers")
    key = str(record.object["key"])
    _upload_with_ticket(harness, record, seed=1)
    harness.drain()
    [first_version] = _versions(harness, key)
    # When the ticket is used again
    _upload_with_ticket(harness, record, seed=2)
    harness.drain()
    # Then the second version is gone, the first (the one the result names) is the object again
    assert _versions(harness, key) == [first_version]
    stored = table.get_image(record.image_id)
    assert stored is not None
    assert stored.object["versionId"] == first_version
    assert harness.rekognition.calls == {"DetectLabels": 1}
    assert len(harness.events()) == 1


def test_an_upload_landing_while_the_first_is_analysed_is_removed_unread(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a versioned bucket and an image whose first upload is being analysed
    harness.pipeline.s3.put_bucket_versioning(
        Bucket=harness.pipeline.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    table, record = _pending(harness, "0f8a5c1e-mid")
    key = str(record.object["key"])
    analyze = RekognitionRecognizer.analyze
    competing: list[list[str]] = []

    def analyze_while_another_upload_lands(self: RekognitionRecognizer, ref: Any, features: Any) -> Any:
        if not competing:
            # the second upload lands, and its event is processed, while Rekognition looks at the first
            _upload_with_ticket(harness, record, seed=2)
            [message] = harness.receive_raw()
            competing.append(process_message(worker_composition.components().analysis, message["Body"]))
            harness.pipeline.sqs.delete_message(
                QueueUrl=harness.pipeline.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return analyze(self, ref, features)

    monkeypatch.setattr(RekognitionRecognizer, "analyze", analyze_while_another_upload_lands)
    _upload_with_ticket(harness, record, seed=1)
    [batch] = harness.drain()
    # Then the second upload was refused at once (not retried), removed, and the first analysis saved
    assert batch.failed_ids == []
    assert competing == [["TICKET_SPENT"]]
    stored = table.get_image(record.image_id)
    assert stored is not None
    assert stored.status is Status.COMPLETED
    assert _versions(harness, key) == [stored.object["versionId"]]
    assert harness.rekognition.calls == {"DetectLabels": 1}
    assert len(harness.events()) == 1


def test_a_delete_between_the_event_and_its_bookkeeping_leaves_the_image_deleted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload whose image its owner deletes right after the worker published the event
    table, record = _pending(harness, "0f8a5c1e-pub")
    publish = SnsEventPublisher.publish

    def publish_then_delete(self: SnsEventPublisher, event: dict[str, Any]) -> None:
        publish(self, event)
        stored = table.get_image(record.image_id)
        assert stored is not None
        table.delete_image(stored)

    monkeypatch.setattr(SnsEventPublisher, "publish", publish_then_delete)
    _upload_with_ticket(harness, record, seed=1)
    [batch] = harness.drain()
    # Then the worker's bookkeeping (mark_published) did not bring a stub of the image back
    assert batch.failed_ids == []
    assert harness.images() == []
    assert table.get_image(record.image_id) is None  # so GET and DELETE answer 404, not 500, for good


def test_a_failed_save_gives_the_lock_back_at_once_so_the_redelivery_is_analysed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a save the table refuses once (throttled)
    save = ResultsStore.save
    refusals = [ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")]

    def save_refused_once(self: ResultsStore, *args: Any, **kwargs: Any) -> None:
        if refusals:
            raise refusals.pop()
        save(self, *args, **kwargs)

    monkeypatch.setattr(ResultsStore, "save", save_refused_once)
    harness.upload("uploads/cat.jpg", image_bytes(), features="labels")
    first = harness.feed()
    assert len(first.failed_ids) == 1
    # Then no lock is left, and the redelivery (before the lock would have expired) is analysed
    assert harness.items("LOCK") == []
    harness.expire_visibility(first)
    second = harness.feed()
    assert (second.received, second.failed_ids) == (1, [])
    assert harness.only_image()["status"] == "COMPLETED"
    assert harness.rekognition.calls == {"DetectLabels": 2}
    assert len(harness.events()) == 1


def test_the_owner_can_find_images_by_label_above_a_confidence(harness: Harness) -> None:
    harness.upload("uploads/cat.jpg", image_bytes(), owner="alice", features="labels")
    harness.drain()
    found = harness.pipeline.dynamodb.query(
        TableName=harness.pipeline.table,
        IndexName="ByOwnerLabel",
        KeyConditionExpression="gsi2pk = :label AND gsi2sk >= :min",
        ExpressionAttributeValues={":label": {"S": "OWNER#alice#LABEL#cat"}, ":min": {"S": "090"}},
    )["Items"]
    assert [item["imageId"]["S"] for item in found] == [harness.only_image()["imageId"]]


def test_a_duplicate_delivery_costs_no_second_call_and_no_second_result(harness: Harness) -> None:
    # Given an upload whose event is delivered twice (S3, SNS and SQS all deliver at least once)
    harness.upload("uploads/dup.jpg", image_bytes())
    [message] = harness.receive_raw()
    harness.pipeline.sqs.send_message(QueueUrl=harness.pipeline.queue_url, MessageBody=message["Body"])
    harness.pipeline.sqs.change_message_visibility(
        QueueUrl=harness.pipeline.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    # When both deliveries are processed
    harness.drain()
    # Then Rekognition was called once per feature, one result and one event exist
    assert harness.rekognition.calls == {"DetectLabels": 1, "DetectText": 1}
    assert len(harness.images()) == 1
    assert len(harness.events()) == 1


def test_an_identical_image_under_another_key_reuses_the_analysis(harness: Harness) -> None:
    data = image_bytes(seed=7)
    harness.upload("uploads/first.jpg", data)
    harness.drain()
    harness.upload("uploads/second.jpg", data)
    harness.drain()
    assert harness.rekognition.calls == {"DetectLabels": 1, "DetectText": 1}
    first, second = sorted(harness.images(), key=lambda image: image["object"]["key"])
    assert second["status"] == "COMPLETED"
    assert second["reusedFrom"] == first["imageId"]
    assert second["results"] == first["results"]


def test_an_identical_image_of_another_owner_is_analysed_again_and_names_no_image_of_theirs(harness: Harness) -> None:
    # Given alice's analysed upload
    data = image_bytes(seed=9)
    harness.upload("uploads/alice/a.jpg", data, owner="alice")
    harness.drain()
    # When bob uploads the very same bytes
    harness.upload("uploads/bob/b.jpg", data, owner="bob")
    harness.drain()
    # Then bob's image is analysed on its own: its result cannot tell him that alice has that image
    assert harness.rekognition.calls == {"DetectLabels": 2, "DetectText": 2}
    bobs = next(image for image in harness.images() if image["owner"] == "bob")
    assert bobs["status"] == "COMPLETED"
    assert bobs.get("reusedFrom") is None


def test_the_same_image_with_other_features_is_analysed_again(harness: Harness) -> None:
    data = image_bytes(seed=8)
    harness.upload("uploads/a.jpg", data, features="labels")
    harness.upload("uploads/b.jpg", data, features="text")
    harness.drain()
    assert harness.rekognition.calls == {"DetectLabels": 1, "DetectText": 1}


def test_throttling_is_retried_through_the_limiter_then_succeeds(harness: Harness) -> None:
    harness.rekognition.fail("DetectLabels", "ProvisionedThroughputExceededException", times=2)
    harness.upload("uploads/busy.jpg", image_bytes(), features="labels")
    [batch] = harness.drain()
    assert batch.failed_ids == []
    assert harness.rekognition.calls["DetectLabels"] == 3
    assert harness.rekognition.answered == {"DetectLabels": 1}
    assert harness.only_image()["status"] == "COMPLETED"


@pytest.fixture
def no_deferral_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message put back by the quota is receivable again at once (as after its delay)."""
    monkeypatch.setattr(intake, "MAX_DEFERRAL_DELAY_SECONDS", 0)


def _attempts(monkeypatch: pytest.MonkeyPatch, attempts: int) -> None:
    monkeypatch.setenv("REKOGNITION_MAX_ATTEMPTS", str(attempts))
    worker_composition.components.cache_clear()


def test_throttling_beyond_the_attempts_puts_the_message_back_without_using_a_receive(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Rekognition throttles longer than the worker's attempts (2 here)
    _attempts(monkeypatch, 2)
    harness.rekognition.fail("DetectLabels", "ThrottlingException", times=2)
    harness.upload("uploads/busy.jpg", image_bytes(), features="labels")
    # When the batch is processed
    batch = harness.feed()
    # Then the record is not failed (so its receive counts for nothing): a new message with a delay and
    # a carried count replaces it, and nothing is stored or announced yet
    assert batch.received == 1
    assert batch.failed_ids == []
    attributes = harness.pipeline.sqs.get_queue_attributes(
        QueueUrl=harness.pipeline.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert harness.images() == []
    assert harness.events() == []


def test_throttling_never_dead_letters_and_pays_once_per_feature(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, no_deferral_delay: None
) -> None:
    # Given Rekognition throttles one image's labels for more passes than maxReceiveCount allows receives
    _attempts(monkeypatch, 2)
    passes = harness.pipeline.max_receive_count + 2
    harness.rekognition.fail("DetectLabels", "ProvisionedThroughputExceededException", times=2 * passes)
    harness.upload("uploads/patient.jpg", image_bytes(), features="labels,text")
    # When the queue is drained (each pass puts the message back)
    batches = harness.drain()
    # Then it was put back each time, never failed, nothing reached the DLQ, and it completed
    assert len(batches) == passes + 1
    assert all(batch.failed_ids == [] for batch in batches)
    assert harness.pipeline.sqs.receive_message(QueueUrl=harness.pipeline.dead_letter_url).get("Messages", []) == []
    image = harness.only_image()
    assert image["status"] == "COMPLETED"
    assert sorted(image["results"]) == ["labels", "text"]
    # And Rekognition answered (billed) exactly one call per requested feature
    assert harness.rekognition.answered == {"DetectLabels": 1, "DetectText": 1}
    assert [event["type"] for event in harness.events()] == ["image.analyzed"]


def test_the_features_that_succeeded_are_kept_and_a_retry_calls_only_the_missing_one(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, no_deferral_delay: None
) -> None:
    # Given labels answered and text throttled beyond the attempts
    _attempts(monkeypatch, 2)
    harness.rekognition.fail("DetectText", "ThrottlingException", times=2)
    harness.upload("uploads/half.jpg", image_bytes(), features="labels,text")
    # When the first pass ends
    assert harness.feed().failed_ids == []
    # Then the labels' result is stored, for exactly this object, and the image is not finished
    [partial] = harness.items("PARTIAL")
    assert list(partial["results"]) == ["labels"]
    assert harness.images() == []
    # And when the message comes back, only text is called; the image is complete, the partial item gone
    harness.drain()
    assert harness.rekognition.answered == {"DetectLabels": 1, "DetectText": 1}
    assert sorted(harness.only_image()["results"]) == ["labels", "text"]
    assert harness.items("PARTIAL") == []


def test_a_real_fault_fails_the_record_keeps_partial_results_and_the_retry_calls_only_the_rest(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given text failing with a server error on every attempt, labels answered
    _attempts(monkeypatch, 2)
    harness.rekognition.fail("DetectText", "InternalServerError", times=2, status=500)
    harness.upload("uploads/fault.jpg", image_bytes(), features="labels,text")
    # When the batch is processed, the record fails (a fault counts towards the DLQ) and keeps labels
    batch = harness.feed()
    assert len(batch.failed_ids) == 1
    assert list(harness.items("PARTIAL")[0]["results"]) == ["labels"]
    # And its redelivery calls text only
    harness.expire_visibility(batch)
    harness.drain()
    assert harness.rekognition.answered == {"DetectLabels": 1, "DetectText": 1}
    assert harness.only_image()["status"] == "COMPLETED"


def test_an_image_that_gets_no_token_in_time_is_put_back_without_a_call(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker that may not wait for the rate limiter at all
    monkeypatch.setenv("REKOGNITION_TOKEN_WAIT_SECONDS", "0")
    worker_composition.components.cache_clear()
    harness.upload("uploads/later.jpg", image_bytes(), features="labels")
    # When the batch is processed
    batch = harness.feed()
    # Then Rekognition was not called and the message was put back, not failed
    assert batch.failed_ids == []
    assert harness.rekognition.total_calls == 0
    attributes = harness.pipeline.sqs.get_queue_attributes(
        QueueUrl=harness.pipeline.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_every_call_takes_a_token_of_its_operation_from_the_shared_ledger(harness: Harness) -> None:
    harness.upload("uploads/a.jpg", image_bytes(seed=1), features="labels,text")
    harness.upload("uploads/b.jpg", image_bytes(seed=2), features="labels")
    harness.drain()
    used: dict[str, int] = {}
    for item in harness.items("RATE"):
        operation = item["pk"].split("#")[1]
        used[operation] = used.get(operation, 0) + int(item["used"])
        assert item["expiresAt"] > 0
    # Every paid call took a token of its own operation. An instance takes tokens for all its waiting calls
    # at once, so two images meeting in one slot can take one token more than they spend (seen once in a
    # clean-clone run on a loaded machine): never fewer than the calls, never another operation's.
    assert set(used) == {"labels", "text"}
    assert used["labels"] >= 2
    assert used["text"] >= 1


def test_server_errors_are_retried_like_throttling(harness: Harness) -> None:
    harness.rekognition.fail("DetectText", "InternalServerError", times=1, status=500)
    harness.upload("uploads/x.jpg", image_bytes(), features="text")
    harness.drain()
    assert harness.rekognition.calls["DetectText"] == 2
    assert harness.only_image()["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("InvalidImageFormatException", "REKOGNITION_INVALID_IMAGE_FORMAT"),
        ("ImageTooLargeException", "REKOGNITION_IMAGE_TOO_LARGE"),
        ("InvalidParameterException", "REKOGNITION_INVALID_PARAMETER"),
        ("InvalidS3ObjectException", "REKOGNITION_INVALID_S3_OBJECT"),
    ],
)
def test_non_retryable_rekognition_errors_fail_the_image_once(harness: Harness, error: str, code: str) -> None:
    harness.rekognition.fail("DetectLabels", error)
    harness.upload("uploads/odd.jpg", image_bytes(), features="labels")
    [batch] = harness.drain()
    assert batch.failed_ids == []
    assert harness.rekognition.calls["DetectLabels"] == 1
    image = harness.only_image()
    assert image["status"] == "FAILED"
    assert image["error"]["code"] == code
    assert [event["type"] for event in harness.events()] == ["image.failed"]


def _padded_jpeg(size: int) -> bytes:
    data = image_bytes(200, 200)
    return data[:-2] + b"\x00" * (size - len(data)) + data[-2:]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"this is a text file, not an image", "UNSUPPORTED_FORMAT"),
        (b"GIF89a" + b"\x00" * 500, "UNSUPPORTED_FORMAT"),
        (image_bytes(400, 400)[:3000], "TRUNCATED_IMAGE"),
        (jpeg_with_large_exif()[:20_000], "TRUNCATED_IMAGE"),
        (b"", "EMPTY_OBJECT"),
        (image_bytes(79, 400), "IMAGE_TOO_SMALL"),
        (image_bytes(10_001, 80), "IMAGE_DIMENSIONS_TOO_LARGE"),
        (_padded_jpeg(MAX_IMAGE_BYTES + 1), "IMAGE_TOO_LARGE"),
    ],
    ids=["text", "gif", "truncated-jpeg", "cut-before-frame", "zero-bytes", "79px", "10001px", "over-15MB"],
)
def test_bad_images_fail_clearly_before_any_paid_call(harness: Harness, body: bytes, code: str) -> None:
    harness.upload("uploads/bad.jpg", body, features="labels,text,faces")
    [batch] = harness.drain()
    assert batch.failed_ids == []
    assert harness.rekognition.total_calls == 0
    image = harness.only_image()
    assert (image["status"], image["error"]["code"]) == ("FAILED", code)
    assert image["error"]["message"]


def test_an_image_at_exactly_15_mb_is_accepted(harness: Harness) -> None:
    harness.upload("uploads/big.jpg", _padded_jpeg(MAX_IMAGE_BYTES), features="labels")
    harness.drain()
    assert harness.only_image()["status"] == "COMPLETED"


def test_a_frame_header_past_the_first_read_is_still_found(harness: Harness) -> None:
    harness.upload("uploads/exif.jpg", jpeg_with_large_exif(), features="labels")
    harness.drain()
    assert harness.only_image()["image"]["width"] == 120


def test_an_unknown_feature_fails_the_image_with_a_clear_reason(harness: Harness) -> None:
    harness.upload("uploads/x.jpg", image_bytes(), features="labels,colours")
    harness.drain()
    image = harness.only_image()
    assert image["error"]["code"] == "INVALID_FEATURES"
    assert harness.rekognition.total_calls == 0


def test_one_poison_record_among_ten_is_the_only_failure(harness: Harness) -> None:
    # Given nine uploads and one message that is no S3 event
    for index in range(9):
        harness.upload(f"uploads/batch-{index}.jpg", image_bytes(seed=index), features="labels")
    harness.pipeline.sqs.send_message(QueueUrl=harness.pipeline.queue_url, MessageBody="{not an s3 event")
    # When they arrive in one batch of ten
    batch = harness.feed()
    # Then exactly the poison record is reported failed and the nine are analysed
    assert batch.received == 10
    assert len(batch.failed_ids) == 1
    assert len([i for i in harness.images() if i["status"] == "COMPLETED"]) == 9


def test_a_poison_record_rests_in_the_dlq_after_max_receive_count(harness: Harness) -> None:
    harness.pipeline.sqs.send_message(QueueUrl=harness.pipeline.queue_url, MessageBody="garbage")
    for _ in range(harness.pipeline.max_receive_count):
        batch = harness.feed()
        assert len(batch.failed_ids) == 1
        harness.expire_visibility(batch)
    assert harness.feed().received == 0
    dead = harness.pipeline.sqs.receive_message(QueueUrl=harness.pipeline.dead_letter_url).get("Messages", [])
    assert [m["Body"] for m in dead] == ["garbage"]


def test_keys_with_spaces_and_unicode_are_decoded(harness: Harness) -> None:
    harness.upload("uploads/my café ☕ photo.jpg", image_bytes(), features="labels")
    [batch] = harness.drain()
    assert batch.failed_ids == []
    assert harness.only_image()["object"]["key"] == "uploads/my café ☕ photo.jpg"


def test_uploads_outside_the_prefix_are_not_analysed(harness: Harness) -> None:
    harness.upload("elsewhere/x.jpg", image_bytes())
    assert harness.drain() == []
    assert harness.images() == []


def many_instances(confidence: float, count: int = 2500) -> dict[str, Any]:
    """A DetectLabels answer whose normalised result is over 200 KiB: one label seen thousands of times."""
    box = {"Width": 0.0123, "Height": 0.0456, "Left": 0.789, "Top": 0.321}
    instances = [{"BoundingBox": box, "Confidence": confidence} for _ in range(count)]
    return {"Labels": [{"Name": "Starling", "Confidence": confidence, "Instances": instances}]}


def result_document(harness: Harness, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event's reference, and the JSON object it names in the bucket (that exact version, if any)."""
    ref = event["data"]["resultsRef"]
    version = {"VersionId": ref["versionId"]} if "versionId" in ref else {}
    stored = harness.pipeline.s3.get_object(Bucket=harness.pipeline.bucket, Key=ref["key"], **version)
    assert stored["ContentType"] == "application/json"
    return ref, json.loads(stored["Body"].read())


def test_a_result_too_large_for_the_event_is_written_to_the_bucket_and_referenced(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an image on which Rekognition finds a label thousands of times (a result over 200 KiB)
    monkeypatch.setitem(ANSWERS, "DetectLabels", many_instances(91.0))
    harness.upload("uploads/flock.jpg", image_bytes(), owner="alice", features="labels", **{"image-id": "flock-1"})
    # When the worker analyses it
    [batch] = harness.drain()
    assert batch.failed_ids == []
    # Then the event says the results are omitted and names their document, not a URL
    [event] = harness.events()
    assert event["data"]["resultsOmitted"] is True
    assert "results" not in event["data"]
    assert len(json.dumps(event)) < MAX_EVENT_BYTES
    ref, document = result_document(harness, event)
    assert ref["key"] == "results/alice/flock-1.json"
    assert "http" not in json.dumps(event)
    # and the document is exactly the stored result, every instance of it
    image = harness.only_image()
    assert document == image["results"]
    assert len(document["labels"][0]["instances"]) == 2500


def test_a_result_that_fits_the_event_writes_no_document(harness: Harness) -> None:
    harness.upload("uploads/cat.jpg", image_bytes(), owner="alice", features="labels")
    harness.drain()
    [event] = harness.events()
    assert "resultsRef" not in event["data"]
    assert harness.pipeline.s3.list_objects_v2(Bucket=harness.pipeline.bucket, Prefix="results/").get("KeyCount") == 0
