"""A message that ends in the dead-letter queue leaves no image PENDING: its last receive marks the image FAILED
(DEAD_LETTERED), keeps the results it has and publishes image.failed; a redrive of the message analyses it again,
calling only the features it still lacks."""

from __future__ import annotations

from typing import Any

import pytest

from image_pipeline.recognition.domain.features import Feature
from image_pipeline.results.adapters.results_table import ResultsStore
from tests.handlers.conftest import Harness
from tests.handlers.test_reanalyze import analysed_with_labels, reanalyses
from tests.handlers.test_worker import _attempts
from tests.support.images import image_bytes


def _receive_until_dead_lettered(harness: Harness) -> list[dict[str, Any]]:
    """Every receive the queue allows, each failing; then what rests in the DLQ."""
    for _ in range(harness.pipeline.max_receive_count):
        batch = harness.feed()
        assert len(batch.failed_ids) == 1
        harness.expire_visibility(batch)
    assert harness.feed().received == 0
    response = harness.pipeline.sqs.receive_message(QueueUrl=harness.pipeline.dead_letter_url)
    return list(response.get("Messages", []))


def _redrive(harness: Harness, dead: list[dict[str, Any]]) -> None:
    """What `make redrive` (SQS's redrive) does: the message goes back to the source queue."""
    for message in dead:
        harness.pipeline.sqs.send_message(QueueUrl=harness.pipeline.queue_url, MessageBody=message["Body"])
        harness.pipeline.sqs.delete_message(
            QueueUrl=harness.pipeline.dead_letter_url, ReceiptHandle=message["ReceiptHandle"]
        )


def test_a_dead_lettered_reanalysis_marks_the_image_failed_keeps_its_results_and_a_redrive_completes_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an image analysed with labels, and a reanalysis for faces while DetectFaces fails on every attempt
    image_id = analysed_with_labels(harness)
    labels = harness.only_image()["results"]["labels"]
    _attempts(monkeypatch, 1)
    harness.rekognition.fail("DetectFaces", "InternalServerError", times=harness.pipeline.max_receive_count, status=500)
    reanalyses(harness).request("alice", image_id, frozenset({Feature.FACES}), force=False)
    # When every receive fails and the message goes to the dead-letter queue
    dead = _receive_until_dead_lettered(harness)
    # Then the image is no longer PENDING: FAILED with the reason, its stored labels still readable
    assert len(dead) == 1
    image = harness.only_image()
    assert (image["status"], image["error"]["code"]) == ("FAILED", "DEAD_LETTERED")
    assert "InternalServerError" in image["error"]["message"]
    assert image["results"]["labels"] == labels
    assert [(event["type"], event["data"]["imageId"]) for event in harness.events()] == [("image.failed", image_id)]
    # And a redrive of the message runs the reanalysis again: faces only, merged, announced
    _redrive(harness, dead)
    [batch] = harness.drain()
    assert batch.failed_ids == []
    assert harness.rekognition.answered == {"DetectLabels": 1, "DetectFaces": 1}
    image = harness.only_image()
    assert (image["status"], sorted(image["results"]), image.get("error")) == ("COMPLETED", ["faces", "labels"], None)
    assert "deadLetteredRequest" not in image
    assert [event["type"] for event in harness.events()] == ["image.analyzed"]


def test_a_new_reanalysis_is_accepted_after_one_was_dead_lettered(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = analysed_with_labels(harness)
    _attempts(monkeypatch, 1)
    harness.rekognition.fail("DetectText", "InternalServerError", times=harness.pipeline.max_receive_count, status=500)
    reanalyses(harness).request("alice", image_id, frozenset({Feature.TEXT}), force=False)
    _receive_until_dead_lettered(harness)
    # When its owner asks again (the API answered 409 while the image stayed PENDING)
    pending = reanalyses(harness).request("alice", image_id, frozenset({Feature.TEXT}), force=False)
    harness.drain()
    # Then it is analysed
    assert pending.status.value == "PENDING"
    assert sorted(harness.only_image()["results"]) == ["labels", "text"]


def test_a_dead_lettered_upload_is_failed_with_its_partial_results_and_a_redrive_calls_only_the_rest(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload for labels and text while DetectText fails on every attempt
    _attempts(monkeypatch, 1)
    harness.rekognition.fail("DetectText", "InternalServerError", times=harness.pipeline.max_receive_count, status=500)
    harness.upload("uploads/stuck.jpg", image_bytes(), features="labels,text")
    # When every receive fails and the message is dead-lettered
    dead = _receive_until_dead_lettered(harness)
    # Then the image is FAILED (not PENDING, not missing) with the labels it got, and image.failed was published
    image = harness.only_image()
    assert (image["status"], image["error"]["code"]) == ("FAILED", "DEAD_LETTERED")
    assert list(image["results"]) == ["labels"]
    assert [event["type"] for event in harness.events()] == ["image.failed"]
    assert harness.rekognition.answered == {"DetectLabels": 1}
    # And a redrive calls text only and completes it
    _redrive(harness, dead)
    harness.drain()
    assert harness.rekognition.answered == {"DetectLabels": 1, "DetectText": 1}
    image = harness.only_image()
    assert (image["status"], sorted(image["results"])) == ("COMPLETED", ["labels", "text"])
    assert [event["type"] for event in harness.events()] == ["image.analyzed"]


def test_a_failed_receive_before_the_last_leaves_the_image_pending(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _attempts(monkeypatch, 1)
    harness.rekognition.fail("DetectLabels", "InternalServerError", times=1, status=500)
    harness.upload("uploads/once.jpg", image_bytes(), features="labels")
    batch = harness.feed()
    assert len(batch.failed_ids) == 1
    assert harness.images() == []
    assert harness.events() == []
    harness.expire_visibility(batch)
    harness.drain()
    assert harness.only_image()["status"] == "COMPLETED"


def test_the_last_receive_leaves_an_image_another_delivery_is_analysing_to_that_delivery(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a reanalysis whose image another delivery holds (its lock) through every receive
    image_id = analysed_with_labels(harness)
    reanalyses(harness).request("alice", image_id, frozenset({Feature.FACES}), force=False)
    store = ResultsStore(harness.pipeline.dynamodb, harness.pipeline.table)
    assert store.acquire_lock(image_id, "the-other-delivery", 600)
    # When every receive fails on that lock and the message is dead-lettered
    _receive_until_dead_lettered(harness)
    # Then the image is left to the delivery that holds it: still PENDING, nothing published
    assert harness.only_image()["status"] == "PENDING"
    assert harness.events() == []
