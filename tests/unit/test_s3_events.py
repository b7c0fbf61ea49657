"""S3 notifications in SQS bodies: real AWS shapes, moto's shapes, test events, encoded keys."""

import json

import pytest

from image_pipeline.recognition.domain.s3_events import MalformedEvent, ObjectRef, parse_notification


def s3_event(key: str, **obj: object) -> dict[str, object]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "images"}, "object": {"key": key, "size": 10, **obj}},
            }
        ]
    }


def test_the_s3_test_event_names_no_object() -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "images"})
    assert parse_notification(body) == []


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("uploads/a+b.jpg", "uploads/a b.jpg"),
        ("uploads/dir%2Fsub/x.png", "uploads/dir/sub/x.png"),
        ("uploads/caf%C3%A9+%E2%98%95.jpg", "uploads/café ☕.jpg"),
        ("uploads/100%25.jpg", "uploads/100%.jpg"),
    ],
)
def test_keys_are_url_decoded(encoded: str, decoded: str) -> None:
    [ref] = parse_notification(json.dumps(s3_event(encoded, eTag="abc")))
    assert ref.key == decoded


def test_a_real_aws_record_keeps_etag_and_version() -> None:
    [ref] = parse_notification(json.dumps(s3_event("uploads/x.jpg", eTag="d41d8", versionId="v1", sequencer="0A")))
    assert ref == ObjectRef(bucket="images", key="uploads/x.jpg", etag="d41d8", version_id="v1", size=10)
    assert ref.identity == "images/uploads/x.jpg#v1"


def test_an_sns_envelope_is_unwrapped_when_raw_delivery_is_off() -> None:
    envelope = {"Type": "Notification", "Message": json.dumps(s3_event("uploads/x.jpg", eTag="e"))}
    [ref] = parse_notification(json.dumps(envelope))
    assert ref.identity == "images/uploads/x.jpg#e"


def test_events_other_than_object_created_are_ignored() -> None:
    event = s3_event("uploads/x.jpg")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"  # type: ignore[index]
    assert parse_notification(json.dumps(event)) == []


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]})])
def test_a_body_that_is_no_s3_event_is_malformed(body: str) -> None:
    with pytest.raises(MalformedEvent):
        parse_notification(body)
