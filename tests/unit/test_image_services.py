"""ImageAnalysis and ImageLibrary with in-memory fakes of their ports: no moto, no boto3."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from image_pipeline.recognition.domain.analysis import AnalysisOutcome, AnalysisSettings, ImageAnalysis
from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.ports import ObjectInfo, Recognition
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.results.domain.library import ImageLibrary, ImageQuery, Listed
from image_pipeline.results.domain.records import ImageRecord, Status
from image_pipeline.shared.errors import AnalysisInProgress, NotFound, RecognitionUnavailable
from image_pipeline.shared.page_tokens import decode_token
from image_pipeline.uploads.domain.uploads import UploadPolicy, Uploads
from tests.support.fake_results import FakeResults
from tests.support.images import image_bytes

LABELS = {"labels": [{"name": "Dog", "confidence": 97.5}]}


@dataclass
class FakeObjects:
    """A versioned bucket: each put is a new version; an event names its version."""

    blobs: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def put(self, key: str, body: bytes, **metadata: str) -> ObjectRef:
        self.blobs[key] = (body, metadata)
        self.versions[key] = f"v{len(self.versions) + 1}-{hash(body) & 0xFFFF}"
        return ObjectRef(bucket="images", key=key, etag=None, version_id=self.versions[key], size=len(body))

    def describe(self, ref: ObjectRef) -> ObjectInfo:
        body, metadata = self.blobs[ref.key]
        version = self.versions[ref.key]
        return ObjectInfo(size=len(body), etag=f"etag-{hash(body) & 0xFFFF}", version_id=version, metadata=metadata)

    def read_range(self, ref: ObjectRef, first: int, last: int) -> bytes:
        self.reads += 1
        return self.blobs[ref.key][0][first : last + 1]

    def remove(self, ref: ObjectRef) -> None:
        self.blobs.pop(ref.key, None)


@dataclass
class FakeRecognizer:
    calls: list[FeatureSet] = field(default_factory=list)
    failure: Exception | None = None

    def analyze(self, ref: ObjectRef, features: FeatureSet) -> Recognition:
        self.calls.append(features)
        if self.failure is not None:
            raise self.failure
        return Recognition(results=LABELS)


@dataclass
class FakePublisher:
    events: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@dataclass
class Analysis:
    objects: FakeObjects
    recognizer: FakeRecognizer
    results: FakeResults
    publisher: FakePublisher
    service: ImageAnalysis


@pytest.fixture
def analysis() -> Analysis:
    objects, recognizer, results, publisher = FakeObjects(), FakeRecognizer(), FakeResults(), FakePublisher()
    service = ImageAnalysis(
        objects=objects,
        recognizer=recognizer,
        repository=results,
        publisher=publisher,
        settings=AnalysisSettings(default_features=frozenset({Feature.LABELS}), lock_seconds=60),
    )
    return Analysis(objects, recognizer, results, publisher, service)


def upload(analysis: Analysis, image_id: str, body: bytes | None = None) -> ObjectRef:
    return analysis.objects.put(
        f"uploads/alice/{image_id}.jpg", body or image_bytes(), owner="alice", **{"image-id": image_id}
    )


def test_a_new_upload_is_analysed_saved_and_announced_once(analysis: Analysis) -> None:
    assert analysis.service.process(upload(analysis, "img-1")) is AnalysisOutcome.ANALYZED
    record = analysis.results.images["img-1"]
    assert (record.status, record.owner, record.results) == (Status.COMPLETED, "alice", LABELS)
    assert record.image is not None
    assert record.image.format == "JPEG"
    assert [event["type"] for event in analysis.publisher.events] == ["image.analyzed"]
    assert analysis.results.images["img-1"].event_published
    assert analysis.results.locks == {}


def test_a_duplicate_delivery_costs_no_recognition_call_and_no_second_event(analysis: Analysis) -> None:
    ref = upload(analysis, "img-1")
    analysis.service.process(ref)
    assert analysis.service.process(ref) is AnalysisOutcome.DUPLICATE
    assert len(analysis.recognizer.calls) == 1
    assert len(analysis.publisher.events) == 1


def test_the_same_content_uploaded_again_reuses_the_first_analysis(analysis: Analysis) -> None:
    body = image_bytes(seed=3)
    analysis.service.process(upload(analysis, "img-1", body))
    assert analysis.service.process(upload(analysis, "img-2", body)) is AnalysisOutcome.REUSED
    assert len(analysis.recognizer.calls) == 1
    second = analysis.results.images["img-2"]
    assert (second.reused_from, second.results) == ("img-1", LABELS)


def test_an_invalid_image_is_recorded_failed_without_a_recognition_call(analysis: Analysis) -> None:
    assert analysis.service.process(upload(analysis, "img-1", b"GIF89a" + bytes(200))) is AnalysisOutcome.FAILED
    record = analysis.results.images["img-1"]
    assert record.status is Status.FAILED
    assert record.error is not None
    assert record.error["code"] == "UNSUPPORTED_FORMAT"
    assert analysis.recognizer.calls == []
    assert [event["type"] for event in analysis.publisher.events] == ["image.failed"]


def test_a_rekognition_failure_is_retried_later_and_leaves_no_lock_or_result(analysis: Analysis) -> None:
    analysis.recognizer.failure = RecognitionUnavailable("throttled")
    with pytest.raises(RecognitionUnavailable):
        analysis.service.process(upload(analysis, "img-1"))
    assert analysis.results.images == {}
    assert analysis.results.locks == {}
    assert analysis.publisher.events == []


def _pending(analysis: Analysis, image_id: str) -> None:
    """What POST /images stores: a PENDING image whose upload ticket nobody has spent yet."""
    analysis.results.images[image_id] = ImageRecord(
        image_id=image_id,
        owner="alice",
        status=Status.PENDING,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        object={"bucket": "images", "key": f"uploads/alice/{image_id}.jpg", "etag": None, "versionId": None},
        object_identity="",
        features=("labels",),
    )


def test_an_upload_ticket_buys_one_analysis_later_objects_are_removed_unread(analysis: Analysis) -> None:
    # Given an image created through the API and analysed from its first upload
    _pending(analysis, "img-1")
    assert analysis.service.process(upload(analysis, "img-1", image_bytes(seed=1))) is AnalysisOutcome.ANALYZED
    first = analysis.results.images["img-1"]
    # When the same presigned POST is used again with other bytes
    later = upload(analysis, "img-1", image_bytes(seed=2))
    # Then the new object is not analysed, not announced, removed, and the result is as it was
    assert analysis.service.process(later) is AnalysisOutcome.TICKET_SPENT
    assert len(analysis.recognizer.calls) == 1
    assert len(analysis.publisher.events) == 1
    assert later.key not in analysis.objects.blobs
    assert analysis.results.images["img-1"] == first
    assert analysis.results.locks == {}


def test_a_failed_save_gives_the_lock_back_so_the_redelivery_is_analysed_at_once(analysis: Analysis) -> None:
    # Given a save that is refused once (throttled, or a cancelled transaction)
    save = analysis.results.save
    failures = [RecognitionUnavailable("throttled")]

    def save_once(record: ImageRecord, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        save(record, **kwargs)

    analysis.results.save = save_once  # type: ignore[method-assign]
    ref = upload(analysis, "img-1")
    with pytest.raises(RecognitionUnavailable):
        analysis.service.process(ref)
    # Then the lock is gone at once and the redelivery is analysed (no wait for the lock to expire)
    assert analysis.results.locks == {}
    assert analysis.service.process(ref) is AnalysisOutcome.ANALYZED
    assert len(analysis.recognizer.calls) == 2


def test_an_upload_another_delivery_is_analysing_is_retried(analysis: Analysis) -> None:
    analysis.results.locks["img-1"] = "other-delivery"
    with pytest.raises(AnalysisInProgress):
        analysis.service.process(upload(analysis, "img-1"))
    assert analysis.recognizer.calls == []


@dataclass
class FakeCatalog:
    images: dict[str, ImageRecord] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    starts: list[dict[str, Any] | None] = field(default_factory=list)

    def create_pending(self, record: ImageRecord) -> None:
        self.images[record.image_id] = record

    def get_image(self, image_id: str) -> ImageRecord | None:
        return self.images.get(image_id)

    def list_by_owner(
        self, owner: str, status: Status | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Listed], dict[str, Any] | None]:
        self.starts.append(start)
        mine = sorted((r for r in self.images.values() if r.owner == owner), key=lambda r: r.created_at, reverse=True)
        offset = int(start["offset"]) if start else 0
        page = [(record, {"offset": str(offset + n + 1)}) for n, record in enumerate(mine[offset : offset + limit])]
        more = offset + limit < len(mine)
        return page, ({"offset": str(offset + limit)} if more else None)

    def list_by_label(
        self, owner: str, label: str, min_confidence: float, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Listed], dict[str, Any] | None]:
        found = [
            (r, {"id": r.image_id})
            for r in self.images.values()
            if r.owner == owner
            and any(x["name"].lower() == label and x["confidence"] >= min_confidence for x in r.labels())
        ]
        return found[:limit], None

    def delete_image(self, record: ImageRecord) -> None:
        self.deleted.append(record.image_id)
        del self.images[record.image_id]


@dataclass
class FakeSigner:
    removed: list[str] = field(default_factory=list)

    def presign_display(self, *, key: str, version_id: str | None, expires_in: int) -> str:
        return f"https://display.example/{key}"

    def remove(self, key: str) -> None:
        self.removed.append(key)

    def holds(self, bucket: str, key: str) -> bool:
        return bucket == "images" and key.startswith("uploads/")


def stored(image_id: str, owner: str, created_at: str, labels: list[dict[str, Any]] | None = None) -> ImageRecord:
    return ImageRecord(
        image_id=image_id,
        owner=owner,
        status=Status.COMPLETED,
        created_at=created_at,
        updated_at=created_at,
        object={"bucket": "images", "key": f"uploads/{owner}/{image_id}.jpg", "etag": "e", "versionId": None},
        object_identity=f"images/uploads/{owner}/{image_id}.jpg#e",
        features=("labels",),
        results={"labels": labels or []},
    )


@pytest.fixture
def library() -> tuple[ImageLibrary, FakeCatalog, FakeSigner]:
    catalog, signer = FakeCatalog(), FakeSigner()
    for n in range(3):
        catalog.images[f"a{n}"] = stored(
            f"a{n}", "alice", f"2026-11-2{n}T00:00:00Z", [{"name": "Dog", "confidence": 90}]
        )
    catalog.images["b0"] = stored("b0", "bob", "2026-11-29T00:00:00Z")
    return ImageLibrary(catalog=catalog, objects=signer, display_seconds=300), catalog, signer


def test_get_returns_the_owners_image_and_hides_anybody_elses(
    library: tuple[ImageLibrary, FakeCatalog, FakeSigner],
) -> None:
    service, _, _ = library
    assert service.get("alice", "a1").image_id == "a1"
    with pytest.raises(NotFound):
        service.get("alice", "b0")
    with pytest.raises(NotFound):
        service.get("alice", "missing")


def test_list_pages_newest_first_with_a_token_only_that_listing_accepts(
    library: tuple[ImageLibrary, FakeCatalog, FakeSigner],
) -> None:
    service, catalog, _ = library
    first = service.list("alice", ImageQuery(limit=2))
    assert [r["imageId"] for r in first.items] == ["a2", "a1"]
    assert first.next_token is not None
    assert decode_token(first.next_token, "owner:alice:") == {"offset": "2"}
    second = service.list("alice", ImageQuery(limit=2, next_token=first.next_token))
    assert ([r["imageId"] for r in second.items], second.next_token) == (["a0"], None)
    assert catalog.starts[-1] == {"offset": "2"}


def test_list_by_label_finds_only_completed_images_of_the_owner(
    library: tuple[ImageLibrary, FakeCatalog, FakeSigner],
) -> None:
    service, _, _ = library
    assert len(service.list("alice", ImageQuery(label=" DOG ", min_confidence=80)).items) == 3
    assert service.list("alice", ImageQuery(label="dog", status=Status.PENDING)).items == []
    assert service.list("bob", ImageQuery(label="dog")).items == []


def test_a_listing_shows_summaries_and_cuts_a_page_at_its_byte_bound_where_the_next_page_continues(
    library: tuple[ImageLibrary, FakeCatalog, FakeSigner],
) -> None:
    _, catalog, signer = library
    many = [{"name": f"Label {n}", "confidence": 50 + n} for n in range(40)]
    for n in range(3, 10):
        catalog.images[f"a{n}"] = stored(f"a{n}", "alice", f"2026-11-2{n}T00:00:00Z", many)
    # Given a page bound that holds about two summaries
    [summary] = (
        ImageLibrary(catalog=catalog, objects=signer, display_seconds=1).list("alice", ImageQuery(limit=1)).items
    )
    one = len(json.dumps(summary, separators=(",", ":")))
    service = ImageLibrary(catalog=catalog, objects=signer, display_seconds=300, page_bytes=2 * one + 10)
    # When all of alice's ten images are listed, 100 a page
    seen, token, pages = [], None, 0
    while True:
        page = service.list("alice", ImageQuery(limit=100, next_token=token))
        seen += [item["imageId"] for item in page.items]
        pages, token = pages + 1, page.next_token
        if token is None:
            break
    # Then each page held the summaries that fit, the next page went on exactly there, nothing twice or missing
    assert seen == [f"a{n}" for n in range(9, -1, -1)]
    assert pages == 5
    # and a summary names the five most confident labels and how many there are, never the whole result
    assert [label["name"] for label in summary["topLabels"]] == [f"Label {n}" for n in range(39, 34, -1)]
    assert summary["counts"] == {"labels": 40}
    assert summary["moderationFlagged"] is False
    assert "results" not in summary


def test_delete_removes_the_object_and_the_result_of_the_owners_image_only(
    library: tuple[ImageLibrary, FakeCatalog, FakeSigner],
) -> None:
    service, catalog, signer = library
    service.delete("alice", "a0")
    # the upload and the document of a result too large for an event (every version of each)
    removed = ["uploads/alice/a0.jpg", "results/alice/a0.json"]
    assert (catalog.deleted, signer.removed) == (["a0"], removed)
    with pytest.raises(NotFound):
        service.delete("alice", "b0")
    assert "b0" in catalog.images
    assert signer.removed == removed


def test_deleting_a_backfilled_image_keeps_its_source_object(
    library: tuple[ImageLibrary, FakeCatalog, FakeSigner],
) -> None:
    # Given an image that make backfill made for an object of another bucket (and one of the library prefix)
    service, catalog, signer = library
    for image_id, bucket, key in (("bf1", "archive", "uploads/alice/a0.jpg"), ("bf2", "images", "library/x.jpg")):
        catalog.images[image_id] = replace(
            stored(image_id, "alice", "2026-11-30T00:00:00Z"), object={"bucket": bucket, "key": key}
        )
        # When its owner deletes it
        service.delete("alice", image_id)
    # Then the results are gone (with a large result's document, which the pipeline stores) and the objects,
    # which belong to their buckets' owners, are not touched
    assert catalog.deleted == ["bf1", "bf2"]
    assert signer.removed == ["results/alice/bf1.json", "results/alice/bf2.json"]


def test_a_backfilled_image_has_no_display_link(library: tuple[ImageLibrary, FakeCatalog, FakeSigner]) -> None:
    # The API may not read the source bucket: a link would only answer 403
    service, catalog, _ = library
    catalog.images["bf1"] = replace(
        stored("bf1", "alice", "2026-11-30T00:00:00Z"), object={"bucket": "archive", "key": "photos/a.jpg"}
    )
    with pytest.raises(NotFound, match="backfilled"):
        service.display_url("alice", "bf1")
    assert service.display_url("alice", "a0")[0] == "https://display.example/uploads/alice/a0.jpg"


@dataclass
class FakeUploadSigner:
    signed: list[dict[str, Any]] = field(default_factory=list)

    def presign_upload(
        self, *, key: str, content_type: str, metadata: dict[str, str], max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        self.signed.append({"key": key, "type": content_type, "metadata": metadata, "max": max_bytes})
        return "https://upload.example", {"key": key}


def test_an_upload_creates_a_pending_result_and_a_link_that_pins_key_owner_and_features() -> None:
    catalog, signer = FakeCatalog(), FakeUploadSigner()
    policy = UploadPolicy(
        bucket="images", prefix="uploads/", upload_seconds=300, default_features=frozenset({Feature.LABELS})
    )
    uploads = Uploads(pending=catalog, signer=signer, policy=policy)
    ticket = uploads.create_upload("alice", filename="../my dog.png", content_type="image/png", features=None)
    record = catalog.images[ticket.image_id]
    assert (record.status, record.owner, record.features) == (Status.PENDING, "alice", ("labels",))
    assert record.extra["filename"] == "my dog.png"
    [signed] = signer.signed
    assert signed["key"] == f"uploads/alice/{ticket.image_id}.png"
    assert signed["metadata"] == {"owner": "alice", "image-id": ticket.image_id, "features": "labels"}
