"""Feature choice, table items and domain events."""

import json

import pytest

from image_pipeline.events.domain.events import MAX_EVENT_BYTES, build_event
from image_pipeline.recognition.domain.features import Feature, feature_key, parse_features
from image_pipeline.recognition.domain.image_header import ImageFacts
from image_pipeline.results.adapters.results_table import (
    MAX_INDEXED_LABELS,
    PENDING_EXPIRY,
    confidence_sort_key,
    image_item,
    label_items,
    record_from_item,
)
from image_pipeline.results.domain.records import ImageRecord, Status
from image_pipeline.shared.errors import ImageRejected

DEFAULT = frozenset({Feature.LABELS})


def record(**overrides: object) -> ImageRecord:
    base: dict[str, object] = {
        "image_id": "img-1",
        "owner": "alice",
        "status": Status.COMPLETED,
        "created_at": "2026-11-22T01:00:00.000Z",
        "updated_at": "2026-11-22T01:00:01.000Z",
        "object": {"bucket": "b", "key": "uploads/x.jpg", "etag": "e", "versionId": None},
        "object_identity": "b/uploads/x.jpg#e",
        "features": ("labels",),
        "image": ImageFacts("JPEG", 640, 480, 1234),
        "results": {"labels": [{"name": "Cat", "confidence": 97.5}, {"name": "Pet", "confidence": 90.0}]},
    }
    base.update(overrides)
    return ImageRecord(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT),
        ("", DEFAULT),
        ("text", frozenset({Feature.TEXT})),
        (" Labels , faces,moderation ", frozenset({Feature.LABELS, Feature.FACES, Feature.MODERATION})),
        ("labels,text,faces,moderation,celebrities", frozenset(Feature)),
    ],
)
def test_features_come_from_metadata_or_the_default(raw: str | None, expected: frozenset[Feature]) -> None:
    assert parse_features(raw, DEFAULT) == expected


def test_an_unknown_feature_is_a_clear_rejection() -> None:
    with pytest.raises(ImageRejected) as rejected:
        parse_features("labels,colors", DEFAULT)
    assert rejected.value.code == "INVALID_FEATURES"
    assert "colors" in rejected.value.message


def test_feature_key_is_order_independent() -> None:
    assert feature_key(frozenset({Feature.TEXT, Feature.LABELS})) == "labels+text"


def test_confidence_sort_keys_sort_like_numbers() -> None:
    values = [5.0, 9.5, 50.25, 99.999, 100.0]
    assert sorted(map(confidence_sort_key, values)) == [confidence_sort_key(v) for v in values]


def test_image_item_round_trips_and_keys_serve_the_owner_timeline() -> None:
    item = image_item(record())
    assert (item["pk"], item["sk"]) == ("IMAGE#img-1", "IMAGE")
    assert (item["gsi1pk"], item["gsi1sk"]) == ("OWNER#alice", "2026-11-22T01:00:00.000Z#img-1")
    assert record_from_item(item) == record()


def test_attributes_written_by_others_survive_a_read_and_rewrite() -> None:
    item = {**image_item(record()), "uploadExpiresAt": "2026-11-22T02:00:00Z"}
    reread = record_from_item(item)
    assert reread.extra == {"uploadExpiresAt": "2026-11-22T02:00:00Z"}
    assert image_item(reread) == item


def test_a_pending_images_expiry_is_dropped_once_it_has_a_result() -> None:
    # Given the API's PENDING item, which expires (table TTL) if its upload never comes
    pending = record(status=Status.PENDING, results=None, extra={"filename": "a.jpg"}, forget_after=1_800_000_000)
    assert image_item(pending)[PENDING_EXPIRY] == 1_800_000_000
    assert record_from_item(image_item(pending)) == pending
    # When the worker writes the finished result over it, Then the result is kept for good (and the filename too)
    for status in (Status.COMPLETED, Status.FAILED):
        finished = image_item(record(status=status, extra=pending.extra, forget_after=pending.forget_after))
        assert PENDING_EXPIRY not in finished
        assert finished["filename"] == "a.jpg"


def test_label_items_index_each_label_once_by_owner_and_confidence() -> None:
    labels = [
        {"name": "Cat", "confidence": 97.5},
        {"name": "cat", "confidence": 60.0},
        {"name": "Pet", "confidence": 9.0},
    ]
    items = label_items(record(results={"labels": labels}))
    assert [(i["gsi2pk"], i["gsi2sk"].split("#")[0]) for i in items] == [
        ("OWNER#alice#LABEL#cat", "097.500"),
        ("OWNER#alice#LABEL#pet", "009.000"),
    ]


def test_label_index_keeps_the_most_confident_labels_within_a_transaction() -> None:
    labels = [{"name": f"L{i}", "confidence": float(i)} for i in range(80)]
    items = label_items(record(results={"labels": labels}))
    assert len(items) == MAX_INDEXED_LABELS
    assert items[0]["label"] == "L79"


def test_event_ids_are_stable_per_outcome_of_one_upload() -> None:
    first, again = build_event(record()), build_event(record())
    failed = build_event(record(status=Status.FAILED, results=None, error={"code": "X", "message": "y"}))
    assert first["id"] == again["id"] != failed["id"]
    assert (first["type"], first["version"]) == ("image.analyzed", "1")
    assert failed["type"] == "image.failed"
    assert failed["data"]["error"] == {"code": "X", "message": "y"}


def test_an_event_too_large_for_sns_omits_results_and_says_so() -> None:
    words = [{"text": "w" * 100, "confidence": 99.0} for _ in range(3000)]
    event = build_event(record(results={"text": {"lines": [], "words": words}}))
    assert len(json.dumps(event)) < MAX_EVENT_BYTES
    assert event["data"]["resultsOmitted"] is True
    assert "results" not in event["data"]
