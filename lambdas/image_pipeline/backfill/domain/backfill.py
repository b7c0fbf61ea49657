"""Backfill: the JPEG/PNG objects already in a bucket, analysed like uploads at the worker's (the quota's) pace.

A run lists a prefix (Step Functions' Distributed Map in AWS, ``ops/backfill.py`` in the local mode) and hands the
listing to this service in batches. Per object: not a JPEG/PNG name, or too large for Rekognition -> ignored;
an image for it already analysed with the requested features -> skipped; otherwise a PENDING image (owner given,
or ``anonymous``) and one message for the worker on the upload queue -> queued. The worker counts each queued
image as done or failed when it is finished (``BackfillProgress``). The image id is derived from bucket, key and
ETag, so a second run finds the images of the first; an object overwritten since is a new image.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from image_pipeline.recognition.domain.analysis import OWNER_PATTERN
from image_pipeline.recognition.domain.backfill import BackfillRequest
from image_pipeline.recognition.domain.features import FeatureSet
from image_pipeline.recognition.domain.image_header import MAX_IMAGE_BYTES
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.results.domain.records import ImageRecord, Status, now_iso
from image_pipeline.shared.errors import InvalidRequest, RetryableError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_BACKFILL_NAMESPACE = uuid.UUID("6d1f3c2a-5b7e-4f09-8a1d-9c3e2b4f5a60")


@dataclass(frozen=True)
class ListedObject:
    """One object of the listing (what S3 ListObjectsV2 says of it)."""

    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class BackfillJob:
    run_id: str
    bucket: str
    owner: str
    features: FeatureSet

    def __post_init__(self) -> None:
        if not RUN_ID_PATTERN.match(self.run_id):
            raise InvalidRequest(f"run id {self.run_id!r}: letters, digits, '-' and '_', at most 80")
        if not OWNER_PATTERN.match(self.owner):
            raise InvalidRequest(f"owner {self.owner!r} is not a valid owner name")
        if not self.features:
            raise InvalidRequest("a backfill needs at least one feature")


@dataclass(frozen=True)
class BatchCounts:
    listed: int = 0
    ignored: int = 0  # not a JPEG/PNG name, or larger than Rekognition takes
    skipped: int = 0  # already analysed with the requested features
    queued: int = 0
    failed: int = 0  # outside the allowed sources

    def as_dict(self) -> dict[str, int]:
        return {
            "listed": self.listed,
            "ignored": self.ignored,
            "skipped": self.skipped,
            "queued": self.queued,
            "failed": self.failed,
        }


def is_image_key(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def backfill_image_id(bucket: str, key: str, etag: str) -> str:
    """Stable across runs for the same object; another object (or the same key overwritten) gets another."""
    return str(uuid.uuid5(_BACKFILL_NAMESPACE, f"{bucket}/{key}#{etag.strip(chr(34))}"))


def already_analysed(record: ImageRecord | None, features: FeatureSet) -> bool:
    """Finished with every requested feature (a FAILED image failed for its content: analysing again is no use)."""
    if record is None or not record.is_terminal:
        return False
    if record.status is Status.FAILED:
        return True
    return {feature.value for feature in features} <= set(record.features)


@dataclass(frozen=True)
class SourceLocation:
    """A place a backfill may read: a bucket, and a key prefix in it ('' for the whole bucket)."""

    bucket: str
    prefix: str = ""

    def contains(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix)

    @classmethod
    def parse(cls, text: str) -> SourceLocation:
        """``bucket`` or ``bucket/prefix/``."""
        bucket, _, prefix = text.partition("/")
        return cls(bucket=bucket, prefix=prefix)


class BacklogFull(RetryableError):
    """The upload queue already holds the backfill's share of waiting work: the batch is tried again later (the
    state machine's retry), so that uploads never wait behind more than that."""


class BackfillCatalog(Protocol):
    def get_image(self, image_id: str) -> ImageRecord | None: ...

    def was_deleted(self, image_id: str) -> bool: ...

    def create_pending(self, record: ImageRecord) -> None:
        """Creates the image if there is none under its id (a second run's create of the same image is no error)."""
        ...

    def replace_image(self, record: ImageRecord, *, expected: ImageRecord) -> bool:
        """Writes ``record`` if the stored image is still exactly ``expected``; False when it changed meanwhile."""
        ...


class WorkQueue(Protocol):
    def send_all(self, bodies: Sequence[str]) -> None:
        """Queues every body (the worker's messages); raises if any could not be sent."""
        ...

    def backlog(self) -> int:
        """Messages waiting on the queue (visible or delayed), approximately."""
        ...


class RunLedger(Protocol):
    def add(self, run_id: str, counts: BatchCounts) -> None:
        """Adds a batch's counts to the run's."""
        ...


class Backfill:
    def __init__(
        self,
        *,
        catalog: BackfillCatalog,
        queue: WorkQueue,
        ledger: RunLedger,
        sources: Iterable[SourceLocation],
        max_backlog: int,
        max_object_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self._catalog = catalog
        self._queue = queue
        self._ledger = ledger
        self._sources = tuple(sources)
        self._max_backlog = max_backlog
        self._max_bytes = max_object_bytes

    def allowed(self, bucket: str, key: str) -> bool:
        return any(source.contains(bucket, key) for source in self._sources)

    def run_batch(self, job: BackfillJob, objects: Sequence[ListedObject]) -> BatchCounts:
        """Raises BacklogFull, before touching anything, while the queue holds more than ``max_backlog`` messages:
        the map only ever runs a little ahead of the worker, and users' uploads wait behind at most that."""
        waiting = self._queue.backlog()
        if waiting > self._max_backlog:
            raise BacklogFull(
                f"{waiting} messages wait on the upload queue (at most {self._max_backlog} for a backfill)"
            )
        ignored = skipped = failed = 0
        bodies: list[str] = []
        for listed in objects:
            if not self.allowed(job.bucket, listed.key):
                failed += 1
                continue
            if not is_image_key(listed.key) or not 0 < listed.size <= self._max_bytes:
                ignored += 1
                continue
            request = self._request(job, listed)
            if request is None:
                skipped += 1
                continue
            bodies.append(request.body())
        self._queue.send_all(bodies)
        counts = BatchCounts(listed=len(objects), ignored=ignored, skipped=skipped, queued=len(bodies), failed=failed)
        self._ledger.add(job.run_id, counts)
        return counts

    def _request(self, job: BackfillJob, listed: ListedObject) -> BackfillRequest | None:
        """The worker's message for the object, its PENDING image made; None when there is nothing to do."""
        etag = listed.etag.strip('"')
        image_id = backfill_image_id(job.bucket, listed.key, etag)
        current = self._catalog.get_image(image_id)
        if already_analysed(current, job.features):
            return None
        if current is None:
            if self._catalog.was_deleted(image_id):
                return None  # its owner deleted the image: a backfill does not bring it back
            now = now_iso()
            self._catalog.create_pending(
                ImageRecord(
                    image_id=image_id,
                    owner=job.owner,
                    status=Status.PENDING,
                    created_at=now,
                    updated_at=now,
                    object={"bucket": job.bucket, "key": listed.key, "etag": etag, "versionId": None},
                    object_identity="",
                    features=tuple(sorted(feature.value for feature in job.features)),
                )
            )
        ref = ObjectRef(bucket=job.bucket, key=listed.key, etag=etag, version_id=None, size=listed.size)
        requested_at = None
        if current is not None and current.is_terminal:
            # Analysed before without some of the features: reanalysed, paying only for those.
            pending = replace(current, status=Status.PENDING, updated_at=now_iso(), event_published=False)
            if not self._catalog.replace_image(pending, expected=current):
                return None  # changed meanwhile (an analysis of its own is under way)
            requested_at = pending.updated_at
        owner = current.owner if current is not None else job.owner
        return BackfillRequest(
            run_id=job.run_id,
            image_id=image_id,
            owner=owner,
            features=job.features,
            ref=ref,
            requested_at=requested_at,
        )


@dataclass(frozen=True)
class RunProgress:
    """A run's counts so far: ``done`` and part of ``failed`` are counted by the worker as images finish."""

    run_id: str
    listed: int = 0
    ignored: int = 0
    skipped: int = 0
    queued: int = 0
    done: int = 0
    failed: int = 0

    @property
    def settled(self) -> int:
        return self.ignored + self.skipped + self.done + self.failed

    @property
    def remaining(self) -> int:
        """Listed objects not settled yet (queued and waiting for the worker); objects not yet listed are not known."""
        return max(0, self.listed - self.settled)
