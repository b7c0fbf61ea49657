"""Reanalysis with in-memory fakes: which features are paid for, who may ask, and how the worker merges."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from image_pipeline.recognition.domain.analysis import AnalysisOutcome, AnalysisSettings, ImageAnalysis
from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.ports import Recognition
from image_pipeline.recognition.domain.reanalysis import (
    Reanalyses,
    ReanalysisRequest,
    features_to_call,
    parse_work,
)
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.results.domain.records import ImageRecord, Status
from image_pipeline.shared.errors import Conflict, ImageRejected, NotFound, RecognitionUnavailable
from tests.support.fake_results import FakeResults

LABELS, TEXT, FACES = Feature.LABELS, Feature.TEXT, Feature.FACES
STORED = {"labels": [{"name": "Dog", "confidence": 97.5}], "text": {"lines": []}}


@pytest.mark.parametrize(
    ("requested", "force", "paid"),
    [
        ({LABELS, FACES}, False, {FACES}),
        ({LABELS, TEXT}, False, set()),
        ({LABELS, FACES}, True, {LABELS, FACES}),
        ({FACES}, False, {FACES}),
    ],
)
def test_only_features_without_a_stored_result_are_paid_for_unless_forced(
    requested: set[Feature], force: bool, paid: set[Feature]
) -> None:
    assert features_to_call(frozenset(requested), STORED, force=force) == paid


class Catalog(FakeResults):
    def replace_image(self, record: ImageRecord, *, expected: ImageRecord) -> bool:
        current = self.images.get(record.image_id)
        if current is None or (current.status, current.updated_at) != (expected.status, expected.updated_at):
            return False
        self.images[record.image_id] = record
        return True


@dataclass
class Queue:
    bodies: list[str] = field(default_factory=list)
    broken: bool = False

    def put_back(self, body: str, deferrals: int, delay_seconds: int) -> None:
        if self.broken:
            raise ConnectionError("queue unreachable")
        self.bodies.append(body)


def completed(image_id: str = "img-1", owner: str = "alice") -> ImageRecord:
    return ImageRecord(
        image_id=image_id,
        owner=owner,
        status=Status.COMPLETED,
        created_at="2026-11-30T00:00:00.000Z",
        updated_at="2026-11-30T00:00:01.000Z",
        object={"bucket": "images", "key": "uploads/a.jpg", "etag": "e1", "versionId": None},
        object_identity="images/uploads/a.jpg#e1",
        features=("labels", "text"),
        results=dict(STORED),
        event_published=True,
    )


def test_a_request_marks_the_image_pending_and_queues_what_the_worker_needs() -> None:
    catalog, queue = Catalog(images={"img-1": completed()}), Queue()
    pending = Reanalyses(catalog=catalog, queue=queue).request("alice", "img-1", frozenset({FACES}), force=False)
    assert pending.status is Status.PENDING
    assert pending.results == STORED  # the stored results stay readable meanwhile
    [body] = queue.bodies
    assert json.loads(body)["features"] == ["faces"]
    assert parse_work(body) == [ReanalysisRequest("img-1", frozenset({FACES}), False, pending.updated_at)]


def test_another_owners_image_is_not_found_and_nothing_is_queued() -> None:
    catalog, queue = Catalog(images={"img-1": completed()}), Queue()
    with pytest.raises(NotFound):
        Reanalyses(catalog=catalog, queue=queue).request("bob", "img-1", frozenset({FACES}), force=False)
    assert queue.bodies == []


def test_an_image_being_analysed_refuses_a_second_request() -> None:
    catalog, queue = Catalog(images={"img-1": completed()}), Queue()
    reanalyses = Reanalyses(catalog=catalog, queue=queue)
    reanalyses.request("alice", "img-1", frozenset({FACES}), force=False)
    with pytest.raises(Conflict):
        reanalyses.request("alice", "img-1", frozenset({TEXT}), force=True)
    assert len(queue.bodies) == 1


def test_a_request_that_cannot_be_queued_leaves_the_image_as_it_was() -> None:
    catalog = Catalog(images={"img-1": completed()})
    with pytest.raises(ConnectionError):
        Reanalyses(catalog=catalog, queue=Queue(broken=True)).request("alice", "img-1", frozenset({FACES}), force=False)
    assert catalog.images["img-1"] == completed()


@dataclass
class Recognizer:
    calls: list[FeatureSet] = field(default_factory=list)

    def analyze(self, ref: ObjectRef, features: FeatureSet) -> Recognition:
        self.calls.append(features)
        return Recognition(results={feature.value: {"new": True} for feature in features})


@dataclass
class Publisher:
    events: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def worker(catalog: Catalog, recognizer: Recognizer, publisher: Publisher) -> ImageAnalysis:
    return ImageAnalysis(
        objects=None,  # type: ignore[arg-type]  # a reanalysis reads no object bytes: the facts are stored
        recognizer=recognizer,
        repository=catalog,
        publisher=publisher,
        settings=AnalysisSettings(default_features=frozenset({LABELS}), lock_seconds=60),
    )


@pytest.mark.parametrize(("force", "paid"), [(False, {FACES}), (True, {LABELS, FACES})])
def test_the_worker_pays_for_the_missing_features_and_merges_them_into_the_result(
    force: bool, paid: set[Feature]
) -> None:
    catalog, recognizer, publisher = Catalog(images={"img-1": completed()}), Recognizer(), Publisher()
    Reanalyses(catalog=catalog, queue=(queue := Queue())).request(
        "alice", "img-1", frozenset({LABELS, FACES}), force=force
    )
    [request] = parse_work(queue.bodies[0])
    assert isinstance(request, ReanalysisRequest)
    service = worker(catalog, recognizer, publisher)
    assert service.reanalyse(request) is AnalysisOutcome.ANALYZED
    assert recognizer.calls == [paid]
    record = catalog.images["img-1"]
    assert record.status is Status.COMPLETED
    assert record.features == ("faces", "labels", "text")
    assert sorted(record.results or {}) == ["faces", "labels", "text"]
    assert (record.results or {})["labels"] == ({"new": True} if force else STORED["labels"])
    assert [event["type"] for event in publisher.events] == ["image.analyzed"]
    # A second delivery of the same message costs nothing and announces nothing new
    assert service.reanalyse(request) is AnalysisOutcome.DUPLICATE
    assert len(recognizer.calls) == 1
    assert len(publisher.events) == 1


def test_a_request_for_an_image_changed_since_is_skipped() -> None:
    catalog, recognizer, publisher = Catalog(images={"img-1": completed()}), Recognizer(), Publisher()
    stale = ReanalysisRequest("img-1", frozenset({FACES}), False, "2026-11-29T00:00:00.000Z")
    pending = replace(completed(), status=Status.PENDING, updated_at="2026-11-30T01:00:00.000Z")
    catalog.images["img-1"] = pending
    assert worker(catalog, recognizer, publisher).reanalyse(stale) is AnalysisOutcome.DUPLICATE
    assert recognizer.calls == []


@dataclass
class RejectingRecognizer(Recognizer):
    def analyze(self, ref: ObjectRef, features: FeatureSet) -> Recognition:
        self.calls.append(features)
        raise ImageRejected("INVALID_IMAGE", "Rekognition cannot read it")


def test_an_image_rekognition_rejects_is_failed_announced_and_keeps_its_earlier_results() -> None:
    catalog, recognizer, publisher = Catalog(images={"img-1": completed()}), RejectingRecognizer(), Publisher()
    Reanalyses(catalog=catalog, queue=(queue := Queue())).request("alice", "img-1", frozenset({FACES}), force=False)
    [request] = parse_work(queue.bodies[0])
    assert isinstance(request, ReanalysisRequest)
    assert worker(catalog, recognizer, publisher).reanalyse(request) is AnalysisOutcome.FAILED
    record = catalog.images["img-1"]
    assert (record.status, record.error) == (
        Status.FAILED,
        {"code": "INVALID_IMAGE", "message": "Rekognition cannot read it"},
    )
    assert record.results == STORED
    assert [event["type"] for event in publisher.events] == ["image.failed"]
    assert catalog.locks == {}


def test_a_failed_save_of_a_reanalysis_gives_the_lock_back_at_once() -> None:
    # Given an accepted reanalysis whose save is refused once (throttled, or a cancelled transaction)
    catalog, recognizer, publisher = Catalog(images={"img-1": completed()}), Recognizer(), Publisher()
    Reanalyses(catalog=catalog, queue=(queue := Queue())).request("alice", "img-1", frozenset({FACES}), force=False)
    [request] = parse_work(queue.bodies[0])
    assert isinstance(request, ReanalysisRequest)
    save = catalog.save

    def refused(record: ImageRecord, **kwargs: Any) -> None:
        catalog.save = save  # type: ignore[method-assign]
        raise RecognitionUnavailable("throttled")

    catalog.save = refused  # type: ignore[method-assign]
    service = worker(catalog, recognizer, publisher)
    with pytest.raises(RecognitionUnavailable):
        service.reanalyse(request)
    # Then the lock is gone at once and the redelivery finishes the reanalysis
    assert catalog.locks == {}
    assert service.reanalyse(request) is AnalysisOutcome.ANALYZED
    assert [event["type"] for event in publisher.events] == ["image.analyzed"]
