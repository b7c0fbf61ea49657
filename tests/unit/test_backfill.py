"""The backfill service and the worker's side of it, with in-memory fakes: no moto, no boto3."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import pytest

from image_pipeline.backfill.domain.backfill import (
    Backfill,
    BackfillJob,
    BacklogFull,
    BatchCounts,
    ListedObject,
    RunProgress,
    SourceLocation,
    already_analysed,
    backfill_image_id,
    is_image_key,
)
from image_pipeline.recognition.domain.analysis import AnalysisOutcome, AnalysisSettings, ImageAnalysis
from image_pipeline.recognition.domain.backfill import BackfillRequest
from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.ports import ObjectInfo
from image_pipeline.recognition.domain.reanalysis import parse_work
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.results.domain.records import ImageRecord, Status
from image_pipeline.shared.errors import InvalidRequest
from tests.support.images import image_bytes
from tests.unit.test_reanalysis import Catalog as ReanalysisCatalog
from tests.unit.test_reanalysis import Publisher, Recognizer

LABELS_TEXT = frozenset({Feature.LABELS, Feature.TEXT})


@dataclass
class Catalog(ReanalysisCatalog):
    def create_pending(self, record: ImageRecord) -> None:
        self.images.setdefault(record.image_id, record)


@dataclass
class Queue:
    bodies: list[str] = field(default_factory=list)

    def send_all(self, bodies: list[str]) -> None:
        self.bodies.extend(bodies)

    def backlog(self) -> int:
        return len(self.bodies)


@dataclass
class Ledger:
    runs: dict[str, dict[str, int]] = field(default_factory=dict)
    counted: set[tuple[str, str]] = field(default_factory=set)

    def add(self, run_id: str, counts: BatchCounts) -> None:
        run = self.runs.setdefault(run_id, {})
        for name, value in counts.as_dict().items():
            run[name] = run.get(name, 0) + value

    def finished(self, run_id: str, image_id: str, *, succeeded: bool) -> None:
        if (run_id, image_id) in self.counted:
            return
        self.counted.add((run_id, image_id))
        run = self.runs.setdefault(run_id, {})
        name = "done" if succeeded else "failed"
        run[name] = run.get(name, 0) + 1


@dataclass
class Bucket:
    """Unversioned: an object's ETag is its identity."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def describe(self, ref: ObjectRef) -> ObjectInfo:
        body = self.blobs[ref.key]
        return ObjectInfo(size=len(body), etag=f"etag-{hash(body) & 0xFFFF}", version_id=None, metadata={})

    def read_range(self, ref: ObjectRef, first: int, last: int) -> bytes:
        return self.blobs[ref.key][first : last + 1]

    def remove(self, ref: ObjectRef) -> None:
        raise AssertionError("a backfill never removes a source object")

    def listing(self) -> list[ListedObject]:
        return [ListedObject(key, f'"etag-{hash(body) & 0xFFFF}"', len(body)) for key, body in self.blobs.items()]


@dataclass
class World:
    bucket: Bucket
    catalog: Catalog
    queue: Queue
    ledger: Ledger
    recognizer: Recognizer
    backfill: Backfill
    worker: ImageAnalysis

    def run(self, run_id: str, features: FeatureSet = LABELS_TEXT, owner: str = "anonymous") -> dict[str, int]:
        """One run: the listing in batches of 2, the worker taking what was queued after each."""
        job = BackfillJob(run_id=run_id, bucket="library-bucket", owner=owner, features=features)
        listing = self.bucket.listing()
        for start in range(0, len(listing), 2):
            self.backfill.run_batch(job, listing[start : start + 2])
            while self.queue.bodies:
                for work in parse_work(self.queue.bodies.pop(0)):
                    assert isinstance(work, BackfillRequest)
                    self.worker.backfill(work)
        return {"done": 0, **self.ledger.runs[run_id]}


@pytest.fixture
def world() -> World:
    bucket = Bucket(
        {
            "photos/a.jpg": image_bytes(seed=1),
            "photos/b.PNG": image_bytes(fmt="PNG", seed=2),
            "photos/c.jpeg": image_bytes(seed=3),
            "photos/notes.txt": b"not an image",
            "photos/broken.jpg": b"GIF89a" + bytes(300),
        }
    )
    catalog, queue, ledger, recognizer = Catalog(), Queue(), Ledger(), Recognizer()
    backfill = Backfill(
        catalog=catalog,
        queue=queue,
        ledger=ledger,
        sources=[SourceLocation.parse("library-bucket/photos/")],
        max_backlog=3,
    )
    worker = ImageAnalysis(
        objects=bucket,
        recognizer=recognizer,
        repository=catalog,
        publisher=Publisher(),
        settings=AnalysisSettings(default_features=frozenset({Feature.LABELS}), lock_seconds=60),
        progress=ledger,
    )
    return World(bucket, catalog, queue, ledger, recognizer, backfill, worker)


def test_every_jpeg_and_png_is_analysed_for_the_given_owner_and_features(world: World) -> None:
    counts = world.run("run-1", owner="archive")
    assert counts == {"listed": 5, "ignored": 1, "skipped": 0, "queued": 4, "failed": 1, "done": 3}
    analysed = [image for image in world.catalog.images.values() if image.status is Status.COMPLETED]
    assert len(analysed) == 3
    assert {image.owner for image in world.catalog.images.values()} == {"archive"}
    assert {image.features for image in analysed} == {("labels", "text")}
    assert {image.object["bucket"] for image in analysed} == {"library-bucket"}
    assert world.recognizer.calls == [LABELS_TEXT] * 3


def test_a_second_run_skips_every_object_already_analysed_with_those_features(world: World) -> None:
    world.run("run-1")
    paid = len(world.recognizer.calls)
    counts = world.run("run-2")
    assert counts == {"listed": 5, "ignored": 1, "skipped": 4, "queued": 0, "failed": 0, "done": 0}
    assert len(world.recognizer.calls) == paid


def test_a_run_with_another_feature_pays_only_for_that_feature(world: World) -> None:
    world.run("run-1")
    counts = world.run("run-2", features=frozenset({Feature.LABELS, Feature.MODERATION}))
    assert (counts["queued"], counts["done"], counts["skipped"]) == (3, 3, 1)  # the FAILED one stays skipped
    assert world.recognizer.calls[3:] == [frozenset({Feature.MODERATION})] * 3
    analysed = [image for image in world.catalog.images.values() if image.status is Status.COMPLETED]
    assert {image.features for image in analysed} == {("labels", "moderation", "text")}


def test_an_object_overwritten_since_the_first_run_is_a_new_image(world: World) -> None:
    world.run("run-1")
    world.bucket.blobs["photos/a.jpg"] = image_bytes(seed=9)
    counts = world.run("run-2")
    assert (counts["queued"], counts["skipped"], counts["done"]) == (1, 3, 1)


def test_an_image_its_owner_deleted_is_not_brought_back(world: World) -> None:
    image_id = backfill_image_id("library-bucket", "photos/a.jpg", world.bucket.listing()[0].etag)
    world.catalog.deleted.add(image_id)
    counts = world.run("run-1")
    assert (counts["queued"], counts["skipped"]) == (3, 1)
    assert image_id not in world.catalog.images


def test_a_redelivered_message_is_counted_once(world: World) -> None:
    job = BackfillJob(run_id="run-1", bucket="library-bucket", owner="anonymous", features=LABELS_TEXT)
    world.backfill.run_batch(job, world.bucket.listing()[:1])
    body = world.queue.bodies[0]
    for _ in range(2):
        (work,) = parse_work(body)
        assert isinstance(work, BackfillRequest)
        world.worker.backfill(work)
    assert world.ledger.runs["run-1"]["done"] == 1
    assert len(world.recognizer.calls) == 1


def test_objects_outside_the_allowed_sources_are_failed_without_a_message(world: World) -> None:
    job = BackfillJob(run_id="run-1", bucket="someone-elses-bucket", owner="anonymous", features=LABELS_TEXT)
    counts = world.backfill.run_batch(job, world.bucket.listing())
    assert (counts.failed, counts.queued) == (5, 0)
    assert world.queue.bodies == []


def test_image_ids_are_stable_per_object_and_differ_between_objects() -> None:
    first = backfill_image_id("b", "k.jpg", '"abc"')
    assert first == backfill_image_id("b", "k.jpg", "abc")
    assert len({first, backfill_image_id("b", "k.jpg", "abd"), backfill_image_id("c", "k.jpg", "abc")}) == 3


@pytest.mark.parametrize(
    ("key", "image"), [("a.jpg", True), ("A.JPEG", True), ("x/b.png", True), ("c.gif", False), ("jpg", False)]
)
def test_only_jpeg_and_png_names_are_images(key: str, image: bool) -> None:
    assert is_image_key(key) is image


def test_a_record_counts_as_analysed_only_when_finished_with_every_requested_feature() -> None:
    record = ImageRecord("i", "o", Status.COMPLETED, "t", "t", {}, "id", ("labels",))
    assert already_analysed(record, frozenset({Feature.LABELS}))
    assert not already_analysed(record, LABELS_TEXT)
    assert not already_analysed(replace(record, status=Status.PENDING), frozenset({Feature.LABELS}))
    assert already_analysed(replace(record, status=Status.FAILED), LABELS_TEXT)
    assert not already_analysed(None, LABELS_TEXT)


def test_remaining_is_what_was_listed_and_not_settled() -> None:
    progress = RunProgress("r", listed=10, ignored=1, skipped=2, queued=7, done=3, failed=1)
    assert (progress.settled, progress.remaining) == (7, 3)


def test_a_backfill_message_names_its_object_owner_and_features() -> None:
    request = BackfillRequest("run-1", "img", "bob", LABELS_TEXT, ObjectRef("b", "k.jpg", "e", None, 10))
    body = json.loads(request.body())
    assert body["type"] == "image.backfill"
    assert parse_work(request.body()) == [replace(request, ref=ObjectRef("b", "k.jpg", "e", None, None))]


@pytest.mark.parametrize(("run_id", "owner"), [("bad run", "anonymous"), ("run-1", "no spaces")])
def test_a_job_with_a_bad_run_id_or_owner_is_refused(run_id: str, owner: str) -> None:
    with pytest.raises(InvalidRequest):
        BackfillJob(run_id=run_id, bucket="b", owner=owner, features=LABELS_TEXT)


def test_a_backfilled_object_is_never_removed_even_when_another_object_claimed_its_image(world: World) -> None:
    # Given a queued backfill whose image was claimed meanwhile by another version of the object
    job = BackfillJob(run_id="run-1", bucket="library-bucket", owner="anonymous", features=LABELS_TEXT)
    listed = world.bucket.listing()[0]
    world.backfill.run_batch(job, [listed])
    image_id = backfill_image_id("library-bucket", listed.key, listed.etag)
    claimed = replace(world.catalog.images[image_id], object_identity=f"library-bucket/{listed.key}#another-version")
    world.catalog.images[image_id] = claimed
    # When the worker takes the message
    (work,) = parse_work(world.queue.bodies.pop())
    assert isinstance(work, BackfillRequest)
    # Then nothing is analysed, the source object stays (Bucket.remove would raise), and the image counts as failed
    assert world.worker.backfill(work) is AnalysisOutcome.TICKET_SPENT
    assert listed.key in world.bucket.blobs
    assert world.ledger.runs["run-1"]["failed"] == 1
    assert world.recognizer.calls == []


def test_a_batch_waits_while_the_queue_holds_more_than_the_backlog_allows(world: World) -> None:
    # Given more messages waiting than the backfill may add to (3 in this world)
    world.queue.bodies.extend(["an upload"] * 4)
    job = BackfillJob(run_id="run-1", bucket="library-bucket", owner="anonymous", features=LABELS_TEXT)
    # When a batch comes, then it is refused before anything is made, queued or counted (the map retries it later)
    with pytest.raises(BacklogFull):
        world.backfill.run_batch(job, world.bucket.listing())
    assert world.catalog.images == {}
    assert world.queue.bodies == ["an upload"] * 4
    assert world.ledger.runs == {}
    # And once the worker has taken the work, the same batch goes through
    world.queue.bodies.clear()
    assert world.backfill.run_batch(job, world.bucket.listing()).queued == 4
