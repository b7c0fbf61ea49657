"""A reanalysis (POST /images/{imageId}/reanalyze) run by the real worker handler: paid calls == the missing
features only, or all of them when forced; merged into the result; the usual event. The route itself is tested
in test_api_images.py."""

from __future__ import annotations

import pytest

from image_pipeline.recognition.adapters.upload_queue import UploadQueue
from image_pipeline.recognition.domain.features import Feature
from image_pipeline.recognition.domain.reanalysis import Reanalyses
from image_pipeline.results.adapters.results_table import ResultsStore
from tests.handlers.conftest import Harness
from tests.handlers.test_worker import many_instances, result_document
from tests.support.fake_rekognition import ANSWERS
from tests.support.images import image_bytes


def reanalyses(harness: Harness) -> Reanalyses:
    """What the API function builds, on the worker harness's table and upload queue."""
    return Reanalyses(
        catalog=ResultsStore(harness.pipeline.dynamodb, harness.pipeline.table),
        queue=UploadQueue(harness.pipeline.sqs, harness.pipeline.queue_url),
    )


def analysed_with_labels(harness: Harness) -> str:
    harness.upload("uploads/cat.jpg", image_bytes(), owner="alice", features="labels")
    harness.drain()
    assert harness.rekognition.calls == {"DetectLabels": 1}
    assert [event["type"] for event in harness.events()] == ["image.analyzed"]
    return str(harness.only_image()["imageId"])


def test_a_reanalysis_pays_only_for_the_features_not_stored_and_merges_them(harness: Harness) -> None:
    # Given an image analysed with labels only
    image_id = analysed_with_labels(harness)
    labels = harness.only_image()["results"]["labels"]
    # When its owner asks for labels and faces, and the worker drains the queue
    reanalyses(harness).request("alice", image_id, frozenset({Feature.LABELS, Feature.FACES}), force=False)
    assert harness.only_image()["status"] == "PENDING"
    [batch] = harness.drain()
    # Then only DetectFaces was paid for; the result holds both; image.analyzed was published again
    assert batch.failed_ids == []
    assert harness.rekognition.calls == {"DetectLabels": 1, "DetectFaces": 1}
    image = harness.only_image()
    assert (image["status"], image["features"]) == ("COMPLETED", ["faces", "labels"])
    assert sorted(image["results"]) == ["faces", "labels"]
    assert image["results"]["labels"] == labels
    [event] = harness.events()
    assert (event["type"], event["data"]["imageId"]) == ("image.analyzed", image_id)
    assert sorted(event["data"]["results"]) == ["faces", "labels"]


def test_a_forced_reanalysis_pays_for_every_requested_feature(harness: Harness) -> None:
    image_id = analysed_with_labels(harness)
    reanalyses(harness).request("alice", image_id, frozenset({Feature.LABELS, Feature.TEXT}), force=True)
    harness.drain()
    assert harness.rekognition.calls == {"DetectLabels": 2, "DetectText": 1}
    assert [event["type"] for event in harness.events()] == ["image.analyzed"]


def test_a_reanalysis_of_stored_features_only_costs_nothing_and_still_announces(harness: Harness) -> None:
    image_id = analysed_with_labels(harness)
    reanalyses(harness).request("alice", image_id, frozenset({Feature.LABELS}), force=False)
    harness.drain()
    assert harness.rekognition.calls == {"DetectLabels": 1}
    assert harness.only_image()["status"] == "COMPLETED"
    assert [event["type"] for event in harness.events()] == ["image.analyzed"]


def test_a_second_delivery_of_the_request_costs_nothing(harness: Harness) -> None:
    image_id = analysed_with_labels(harness)
    reanalyses(harness).request("alice", image_id, frozenset({Feature.FACES}), force=False)
    [message] = harness.receive_raw()
    harness.pipeline.sqs.send_message(QueueUrl=harness.pipeline.queue_url, MessageBody=message["Body"])
    harness.pipeline.sqs.change_message_visibility(
        QueueUrl=harness.pipeline.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    harness.drain()
    assert harness.rekognition.calls == {"DetectLabels": 1, "DetectFaces": 1}
    assert len(harness.events()) == 1


def test_a_reanalysis_overwrites_the_document_of_a_result_too_large_for_its_event(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an image whose result was too large for its event, so written to its document
    monkeypatch.setitem(ANSWERS, "DetectLabels", many_instances(91.0))
    harness.upload("uploads/flock.jpg", image_bytes(), owner="alice", features="labels", **{"image-id": "flock-2"})
    harness.drain()
    [first] = harness.events()
    # When its owner forces a reanalysis and Rekognition now answers otherwise
    monkeypatch.setitem(ANSWERS, "DetectLabels", many_instances(72.0))
    reanalyses(harness).request("alice", "flock-2", frozenset({Feature.LABELS}), force=True)
    harness.drain()
    # Then the new event names the same document, which now holds the new result, exactly as stored
    [second] = harness.events()
    ref, document = result_document(harness, second)
    assert ref["key"] == first["data"]["resultsRef"]["key"] == "results/alice/flock-2.json"
    assert document == harness.only_image()["results"]
    assert document["labels"][0]["confidence"] == 72.0
