"""Analyse one uploaded object: validate, deduplicate, recognise, store, announce."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from image_pipeline.events.domain.events import build_event
from image_pipeline.recognition.domain import image_header
from image_pipeline.recognition.domain.backfill import BackfillProgress, BackfillRequest, NoProgress
from image_pipeline.recognition.domain.features import FeatureSet, feature_key, parse_features
from image_pipeline.recognition.domain.image_header import ImageFacts, NeedMoreBytes
from image_pipeline.recognition.domain.ports import (
    EventPublisher,
    ObjectInfo,
    ObjectStore,
    Recognition,
    Recognizer,
    ResultsRepository,
)
from image_pipeline.recognition.domain.reanalysis import ReanalysisRequest, features_to_call
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.results.domain.documents import ResultDocuments
from image_pipeline.results.domain.records import ContentFingerprint, ImageRecord, Status, now_iso
from image_pipeline.shared.errors import AnalysisInProgress, ImageRejected, ObjectSuperseded, RecognitionDeferred
from image_pipeline.shared.telemetry import count, logger

FIRST_READ_BYTES = 64 * 1024
MAX_HEADER_READ_BYTES = 4 * 1024 * 1024
IMAGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9._@+=:-]{1,128}$")
ANONYMOUS = "anonymous"
# The error code of an image whose work message was dead-lettered (its last receive failed): a redrive of that
# message analyses it again; the request a dead-lettered reanalysis was for is kept in the record.
DEAD_LETTERED = "DEAD_LETTERED"
DEAD_LETTERED_REQUEST = "deadLetteredRequest"
_IMAGE_ID_NAMESPACE = uuid.UUID("0b9f7c1e-8f3a-4d52-9e61-2c7a4b5d6e8f")


class AnalysisOutcome(StrEnum):
    ANALYZED = "ANALYZED"
    REUSED = "REUSED"
    FAILED = "FAILED"
    DUPLICATE = "DUPLICATE"
    SUPERSEDED = "SUPERSEDED"
    DEFERRED = "DEFERRED"  # held back by the Rekognition quota: put back on the queue
    TICKET_SPENT = "TICKET_SPENT"


@dataclass(frozen=True)
class AnalysisSettings:
    default_features: FeatureSet
    lock_seconds: int


@dataclass(frozen=True)
class UploadIdentity:
    """What the object's metadata says about it."""

    image_id: str
    owner: str
    features_raw: str | None


def identify(ref: ObjectRef, info: ObjectInfo) -> UploadIdentity:
    """Image id and owner from the metadata the API sets on upload; derived ones for direct uploads.

    ``ref`` is pinned to the object's version or ETag, so a derived id names exactly one upload."""
    image_id = info.metadata.get("image-id", "")
    if not IMAGE_ID_PATTERN.match(image_id):
        image_id = str(uuid.uuid5(_IMAGE_ID_NAMESPACE, ref.identity))
    owner = info.metadata.get("owner", ANONYMOUS)
    if not OWNER_PATTERN.match(owner):
        owner = ANONYMOUS
    return UploadIdentity(image_id=image_id, owner=owner, features_raw=info.metadata.get("features"))


def dead_lettered(record: ImageRecord) -> bool:
    """FAILED because its work message was dead-lettered, not because of the image: a redrive may analyse it."""
    return record.status is Status.FAILED and (record.error or {}).get("code") == DEAD_LETTERED


def _assigned_identity(request: BackfillRequest) -> UploadIdentity:
    """What a backfilled object is analysed as: the image the backfill made for it (its metadata is not ours)."""
    return UploadIdentity(
        image_id=request.image_id,
        owner=request.owner,
        features_raw=",".join(sorted(feature.value for feature in request.features)),
    )


class ImageAnalysis:
    def __init__(
        self,
        *,
        objects: ObjectStore,
        recognizer: Recognizer,
        repository: ResultsRepository,
        publisher: EventPublisher,
        settings: AnalysisSettings,
        documents: ResultDocuments | None = None,
        progress: BackfillProgress | None = None,
    ) -> None:
        """``documents`` keeps results too large for an event (their event then carries a reference to them);
        ``progress`` counts a backfilled image toward its run."""
        self._progress = progress or NoProgress()
        self._objects = objects
        self._documents = documents
        self._recognizer = recognizer
        self._repository = repository
        self._publisher = publisher
        self._settings = settings

    def process(self, ref: ObjectRef, assigned: UploadIdentity | None = None) -> AnalysisOutcome:
        """``assigned``: the image id, owner and features of a backfilled object (its metadata is not ours)."""
        started = time.perf_counter()
        info = self._objects.describe(ref)  # ObjectSuperseded propagates: the caller skips the record
        pinned = replace(ref, etag=info.etag, version_id=info.version_id or ref.version_id)
        upload = assigned or identify(pinned, info)
        logger.thread_safe_append_keys(correlation_id=upload.image_id, object_key=ref.key)
        previous = self._repository.get_image(upload.image_id)
        if self._already_done(previous, pinned):
            return AnalysisOutcome.DUPLICATE
        if previous is None and self._repository.was_deleted(upload.image_id):
            self._discard(pinned, "its image was deleted", keep=assigned is not None)
            raise ObjectSuperseded(f"image {upload.image_id} was deleted: its late upload is not analysed")
        if self._ticket_spent(previous, pinned, keep=assigned is not None):
            return AnalysisOutcome.TICKET_SPENT
        token = uuid.uuid4().hex
        if not self._repository.acquire_lock(upload.image_id, token, self._settings.lock_seconds):
            raise AnalysisInProgress(f"image {upload.image_id} is being analysed by another delivery")
        try:
            # Read again under the lock: a concurrent delivery may have finished in between.
            previous = self._repository.get_image(upload.image_id)
            if self._already_done(previous, pinned):
                self._repository.release_lock(upload.image_id, token)
                return AnalysisOutcome.DUPLICATE
            if previous is not None and not self._repository.claim_upload(upload.image_id, pinned.identity):
                self._repository.release_lock(upload.image_id, token)
                self._discard(
                    pinned,
                    "its upload ticket was spent by another object, or its image was deleted",
                    keep=assigned is not None,
                )
                return AnalysisOutcome.TICKET_SPENT
            record, content, outcome = self._analyse(pinned, info, upload, previous, token)
            # A failed save (throttled, refused) gives the lock back at once: a redelivery need not wait for it.
            self._repository.save(record, previous=previous, content=content, lock_token=token)
        except Exception:
            self._repository.release_lock(upload.image_id, token)
            raise
        self._announce(record)
        count("ImagesProcessed" if record.status is Status.COMPLETED else "ImagesFailed")
        count("ProcessingLatency", (time.perf_counter() - started) * 1000, unit="Milliseconds")
        if ref.event_time is not None:  # from the upload's S3 event to its stored result
            waited = (datetime.now(UTC) - ref.event_time).total_seconds() * 1000
            count("EndToEndLatency", max(0.0, waited), unit="Milliseconds")
        logger.info("Image processed", extra={"outcome": outcome.value, "status": record.status.value})
        return outcome

    def backfill(self, request: BackfillRequest) -> AnalysisOutcome:
        """Analyses a backfilled object for the PENDING image the backfill made, and counts it for its run once it
        is finished (held back by the quota or retried, it is counted when it comes back)."""
        assigned = _assigned_identity(request)
        try:
            if request.requested_at is not None:
                reanalysis = ReanalysisRequest(request.image_id, request.features, False, request.requested_at)
                outcome = self.reanalyse(reanalysis)
            else:
                outcome = self.process(request.ref, assigned)
        except ObjectSuperseded:
            self._progress.finished(request.run_id, request.image_id, succeeded=False)
            raise
        succeeded = outcome in (AnalysisOutcome.ANALYZED, AnalysisOutcome.REUSED, AnalysisOutcome.DUPLICATE)
        self._progress.finished(request.run_id, request.image_id, succeeded=succeeded)
        return outcome

    def _ticket_spent(self, previous: ImageRecord | None, ref: ObjectRef, *, keep: bool = False) -> bool:
        """One ``POST /images`` buys one analysis: an object that lands on the image's key after the ticket was
        spent (by the first object that arrived) is removed unread; the image and its result stay as they are."""
        if previous is None or not previous.object_identity or previous.object_identity == ref.identity:
            return False
        self._discard(ref, "its upload ticket was spent by an earlier object", keep=keep)
        return True

    def _discard(self, ref: ObjectRef, reason: str, *, keep: bool = False) -> None:
        """An object no image will own: removed, so that nothing is kept out of its owner's reach. ``keep``: a
        backfilled object, which belongs to the bucket's owner, is never removed."""
        if not keep:
            self._objects.remove(ref)
        count("UploadsDiscarded")
        logger.info("Upload discarded", extra={"reason": reason, "object_kept": keep})

    def _already_done(self, previous: ImageRecord | None, ref: ObjectRef) -> bool:
        if previous is None or not previous.is_terminal or previous.object_identity != ref.identity:
            return False
        if dead_lettered(previous):
            return False  # a redrive of its message: analyse it again
        self._announce(previous)
        count("DuplicatesSkipped")
        logger.info("Duplicate delivery: already analysed", extra={"status": previous.status.value})
        return True

    def _analyse(
        self, ref: ObjectRef, info: ObjectInfo, upload: UploadIdentity, previous: ImageRecord | None, token: str
    ) -> tuple[ImageRecord, ContentFingerprint | None, AnalysisOutcome]:
        now = now_iso()
        base = ImageRecord(
            image_id=upload.image_id,
            owner=upload.owner,
            status=Status.PENDING,
            created_at=previous.created_at if previous else now,
            updated_at=now,
            object={"bucket": ref.bucket, "key": ref.key, "etag": info.etag, "versionId": info.version_id},
            object_identity=ref.identity,
            features=(),
            extra=previous.extra if previous else {},
        )
        try:
            features = parse_features(upload.features_raw, self._settings.default_features)
            base = replace(base, features=tuple(sorted(f.value for f in features)))
            facts = self._inspect(ref, info.size)
            base = replace(base, image=facts)
            content = ContentFingerprint(upload.owner, info.etag, info.size, feature_key(features))
            reusable = self._repository.find_reusable(content)
            if reusable is not None:
                count("DuplicateImagesReused")
                logger.info("Identical image analysed before: reusing", extra={"source": reusable.image_id})
                return (
                    replace(base, status=Status.COMPLETED, results=reusable.results, reused_from=reusable.image_id),
                    content,
                    AnalysisOutcome.REUSED,
                )
            kept = previous.results if previous is not None and dead_lettered(previous) else None
            results = self._recognise(ref, upload.image_id, features, token, kept=kept)
            return replace(base, status=Status.COMPLETED, results=results), content, AnalysisOutcome.ANALYZED
        except ImageRejected as rejection:
            logger.warning("Image rejected", extra={"code": rejection.code, "reason": rejection.message})
            error = {"code": rejection.code, "message": rejection.message}
            return replace(base, status=Status.FAILED, error=error), None, AnalysisOutcome.FAILED

    def _recognise(
        self, ref: ObjectRef, image_id: str, features: FeatureSet, token: str, kept: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Every requested feature's result, calling Rekognition only for those no earlier pass stored (nor the
        dead-lettered pass whose results ``kept`` holds): a paid call per feature, however often the image is held
        back by the quota."""
        stored = {**(kept or {}), **self._repository.get_partial(image_id, ref.identity)}
        done: dict[str, Any] = {f.value: stored[f.value] for f in features if f.value in stored}
        missing = frozenset(feature for feature in features if feature.value not in done)
        recognition = self._recognizer.analyze(ref, missing) if missing else Recognition(results={})
        results = {**done, **recognition.results}
        if recognition.complete:
            return results
        if recognition.results:
            self._repository.save_partial(image_id, ref.identity, results, token)
        if recognition.fault is not None:
            raise recognition.fault
        count("ImagesDeferred")
        names = ", ".join(sorted(feature.value for feature in recognition.deferred))
        raise RecognitionDeferred(f"held back by the Rekognition quota: {names} ({len(results)} feature(s) kept)")

    def reanalyse(self, request: ReanalysisRequest) -> AnalysisOutcome:
        """Runs a reanalysis the API accepted: Rekognition only for the requested features with no stored result
        (all of them when forced), the answers merged into the stored result, announced like any analysis."""
        logger.thread_safe_append_keys(correlation_id=request.image_id)
        if not self._reanalysis_due(request, self._repository.get_image(request.image_id)):
            return AnalysisOutcome.DUPLICATE
        token = uuid.uuid4().hex
        if not self._repository.acquire_lock(request.image_id, token, self._settings.lock_seconds):
            raise AnalysisInProgress(f"image {request.image_id} is being analysed by another delivery")
        try:
            previous = self._repository.get_image(request.image_id)
            if previous is None or not self._reanalysis_due(request, previous):
                self._repository.release_lock(request.image_id, token)
                return AnalysisOutcome.DUPLICATE
            record = self._reanalysed(request, previous, token)
            # As for an upload: a failed save gives the lock back at once.
            self._repository.save(record, previous=previous, content=None, lock_token=token)
        except Exception:
            self._repository.release_lock(request.image_id, token)
            raise
        self._announce(record)
        count("ImagesReanalysed" if record.status is Status.COMPLETED else "ImagesFailed")
        return AnalysisOutcome.ANALYZED if record.status is Status.COMPLETED else AnalysisOutcome.FAILED

    def _reanalysis_due(self, request: ReanalysisRequest, current: ImageRecord | None) -> bool:
        """The image still waits for exactly this request (not deleted, not done by an earlier delivery), or this
        request was dead-lettered and is now redriven."""
        if current is not None and current.status is Status.PENDING and current.updated_at == request.requested_at:
            return True
        redriven = current is not None and current.extra.get(DEAD_LETTERED_REQUEST) == request.requested_at
        if current is not None and redriven and dead_lettered(current):
            return True
        if current is not None and current.is_terminal:
            self._announce(current)  # mends a crash between save and publish
        logger.info("Reanalysis already done or no longer wanted")
        return False

    def _reanalysed(self, request: ReanalysisRequest, previous: ImageRecord, token: str) -> ImageRecord:
        stored = dict(previous.results or {})
        missing = features_to_call(request.features, stored, force=request.force)
        obj = previous.object
        ref = ObjectRef(
            bucket=str(obj["bucket"]),
            key=str(obj["key"]),
            etag=obj.get("etag"),
            version_id=obj.get("versionId"),
            size=None,
        )
        features = tuple(sorted({*previous.features, *(feature.value for feature in request.features)}))
        extra = {key: value for key, value in previous.extra.items() if key != DEAD_LETTERED_REQUEST}
        base = replace(previous, updated_at=now_iso(), features=features, event_published=False, extra=extra)
        try:
            fresh = self._recognise(ref, previous.image_id, missing, token) if missing else {}
        except ImageRejected as rejection:
            logger.warning("Image rejected", extra={"code": rejection.code, "reason": rejection.message})
            return replace(base, status=Status.FAILED, error={"code": rejection.code, "message": rejection.message})
        reused_from = previous.reused_from if not fresh else None
        results = {**stored, **fresh}
        return replace(base, status=Status.COMPLETED, results=results, error=None, reused_from=reused_from)

    def give_up(self, work: ObjectRef | ReanalysisRequest | BackfillRequest, reason: str) -> bool:
        """The last receive of the message asking for ``work`` failed: SQS moves it to the dead-letter queue. If the
        image still waits for that work, it becomes FAILED (``DEAD_LETTERED``, with ``reason``), keeps every result
        it has, and image.failed is published; a redrive of the message analyses it again. True when it was marked;
        False when nothing waits for the work any more, or another delivery holds the image (it will finish it).
        A backfilled image marked so counts as failed for its run (a redrive that completes it later is not
        counted again: the run's counts are final)."""
        if isinstance(work, BackfillRequest):
            marked = self._give_up_backfill(work, reason)
            if marked:
                self._progress.finished(work.run_id, work.image_id, succeeded=False)
            return marked
        if isinstance(work, ReanalysisRequest):
            return self._mark_dead_lettered(
                work.image_id, reason, lambda current: self._abandoned_request(work, current)
            )
        return self._give_up_object(work, None, reason)

    def _give_up_backfill(self, request: BackfillRequest, reason: str) -> bool:
        if request.requested_at is not None:  # a backfilled image analysed before without some features
            return self.give_up(
                ReanalysisRequest(request.image_id, request.features, False, request.requested_at), reason
            )
        return self._give_up_object(request.ref, _assigned_identity(request), reason)

    def _give_up_object(self, ref: ObjectRef, assigned: UploadIdentity | None, reason: str) -> bool:
        try:
            info = self._objects.describe(ref)
        except ObjectSuperseded:
            return False
        pinned = replace(ref, etag=info.etag, version_id=info.version_id or ref.version_id)
        upload = assigned or identify(pinned, info)
        return self._mark_dead_lettered(
            upload.image_id, reason, lambda current: self._abandoned_upload(pinned, info, upload, current)
        )

    def _mark_dead_lettered(
        self, image_id: str, reason: str, abandoned: Callable[[ImageRecord | None], ImageRecord | None]
    ) -> bool:
        token = uuid.uuid4().hex
        if not self._repository.acquire_lock(image_id, token, self._settings.lock_seconds):
            return False
        try:
            current = self._repository.get_image(image_id)
            record = abandoned(current)
            if record is None:
                self._repository.release_lock(image_id, token)
                return False
            error = {"code": DEAD_LETTERED, "message": f"analysis abandoned after its last attempt: {reason}"}
            failed = replace(record, status=Status.FAILED, error=error, updated_at=now_iso(), event_published=False)
            self._repository.save(failed, previous=current, content=None, lock_token=token)
        except Exception:
            self._repository.release_lock(image_id, token)
            raise
        self._announce(failed)
        count("ImagesDeadLettered")
        logger.warning("Image marked FAILED: its message goes to the dead-letter queue", extra={"reason": reason})
        return True

    @staticmethod
    def _abandoned_request(request: ReanalysisRequest, current: ImageRecord | None) -> ImageRecord | None:
        """The image, if it still waits for this reanalysis, remembering the request so that a redrive runs it."""
        if current is None or current.status is not Status.PENDING or current.updated_at != request.requested_at:
            return None
        return replace(current, extra={**current.extra, DEAD_LETTERED_REQUEST: request.requested_at})

    def _abandoned_upload(
        self, ref: ObjectRef, info: ObjectInfo, upload: UploadIdentity, current: ImageRecord | None
    ) -> ImageRecord | None:
        """The image, if it still waits for this upload, with the results of the features it got."""
        if current is None and self._repository.was_deleted(upload.image_id):
            return None
        if current is not None and (current.is_terminal or current.object_identity not in ("", ref.identity)):
            return None
        obj: dict[str, str | None] = {
            "bucket": ref.bucket,
            "key": ref.key,
            "etag": info.etag,
            "versionId": info.version_id,
        }
        if current is None:  # an upload that came without POST /images
            now = now_iso()
            try:
                features = parse_features(upload.features_raw, self._settings.default_features)
            except ImageRejected:
                features = self._settings.default_features
            current = ImageRecord(
                image_id=upload.image_id,
                owner=upload.owner,
                status=Status.PENDING,
                created_at=now,
                updated_at=now,
                object=obj,
                object_identity=ref.identity,
                features=tuple(sorted(feature.value for feature in features)),
            )
        results = {**(current.results or {}), **self._repository.get_partial(upload.image_id, ref.identity)}
        return replace(current, object=obj, object_identity=ref.identity, results=results or None)

    def _inspect(self, ref: ObjectRef, size: int) -> ImageFacts:
        """Format, dimensions and completeness from the first and last bytes, before any paid call."""
        image_header.check_size(size)
        limit = FIRST_READ_BYTES
        while True:
            head = self._objects.read_range(ref, 0, min(limit, size) - 1)
            image_format = image_header.sniff_format(head)
            try:
                width, height = image_header.read_dimensions(image_format, head, complete=len(head) >= size)
                break
            except NeedMoreBytes:
                if limit >= MAX_HEADER_READ_BYTES:
                    raise ImageRejected(
                        "UNSUPPORTED_FORMAT", "no JPEG frame header in the first 4 MiB of the image"
                    ) from None
                limit *= 8
        image_header.check_dimensions(width, height)
        tail_start = max(0, size - image_header.TAIL_BYTES)
        tail = head[tail_start:] if len(head) >= size else self._objects.read_range(ref, tail_start, size - 1)
        image_header.check_complete(image_format, tail)
        return ImageFacts(format=image_format, width=width, height=height, size_bytes=size)

    def _announce(self, record: ImageRecord) -> None:
        """Publish the domain event once per outcome; a crash between save and publish is mended on redelivery.
        Results too large for the event are written to their document first (a reanalysis overwrites it)."""
        if record.event_published:
            return
        self._publisher.publish(build_event(record, self._documents))
        self._repository.mark_published(record.image_id)
