"""Re-analysing a stored image with another feature set, paying only for the features it lacks.

The API side (``Reanalyses``) marks the owner's image as being analysed again and queues a reanalysis message on
the worker's upload queue; the worker (``ImageAnalysis.reanalyse``) calls Rekognition for ``features_to_call``
only and merges the answers into the stored result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Protocol

from image_pipeline.recognition.domain.backfill import BackfillRequest, parse_backfill
from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.ports import Requeue
from image_pipeline.recognition.domain.s3_events import ObjectRef, parse_notification
from image_pipeline.results.domain.records import ImageRecord, Status, now_iso
from image_pipeline.shared.errors import Conflict, NotFound

MESSAGE_TYPE = "image.reanalyze"


@dataclass(frozen=True)
class ReanalysisRequest:
    image_id: str
    features: FeatureSet
    force: bool
    # The updatedAt the API gave the image when it accepted the request: a later delivery of the same message
    # (or one for an image changed since) is recognised and skipped.
    requested_at: str

    def body(self) -> str:
        return json.dumps(
            {
                "type": MESSAGE_TYPE,
                "imageId": self.image_id,
                "features": sorted(feature.value for feature in self.features),
                "force": self.force,
                "requestedAt": self.requested_at,
            }
        )


def parse_request(message: Any) -> ReanalysisRequest | None:
    """The request a decoded message body carries; None when it is not a reanalysis message."""
    if not isinstance(message, dict) or message.get("type") != MESSAGE_TYPE:
        return None
    return ReanalysisRequest(
        image_id=str(message["imageId"]),
        features=frozenset(Feature(name) for name in message["features"]),
        force=bool(message.get("force", False)),
        requested_at=str(message["requestedAt"]),
    )


def parse_work(body: str) -> list[ObjectRef | ReanalysisRequest | BackfillRequest]:
    """What one upload-queue message asks for: a reanalysis, a backfilled object, or the uploads of an S3 event."""
    try:
        decoded = json.loads(body)
        request = parse_request(decoded) or parse_backfill(decoded)
    except (TypeError, ValueError, KeyError):
        request = None  # parse_notification says what is wrong with the body
    if request is not None:
        return [request]
    return list(parse_notification(body))


def features_to_call(requested: FeatureSet, stored: dict[str, Any], *, force: bool) -> FeatureSet:
    """The paid calls of a reanalysis: every requested feature when forced, otherwise those with no stored result."""
    if force:
        return requested
    return frozenset(feature for feature in requested if feature.value not in stored)


class ReanalysisCatalog(Protocol):
    def get_image(self, image_id: str) -> ImageRecord | None: ...

    def replace_image(self, record: ImageRecord, *, expected: ImageRecord) -> bool:
        """Writes ``record`` over the stored image if it is still exactly ``expected`` (status and updatedAt);
        False when it changed meanwhile."""
        ...


class Reanalyses:
    """The API side: owner-scoped, refused while an analysis is in progress."""

    def __init__(self, *, catalog: ReanalysisCatalog, queue: Requeue) -> None:
        self._catalog = catalog
        self._queue = queue

    def request(self, owner: str, image_id: str, features: FeatureSet, *, force: bool) -> ImageRecord:
        current = self._catalog.get_image(image_id)
        if current is None or current.owner != owner:
            raise NotFound(f"no image {image_id}")
        if not current.is_terminal:
            raise Conflict(f"image {image_id} is being analysed; try again when it is {Status.COMPLETED.value}")
        pending = replace(current, status=Status.PENDING, updated_at=now_iso(), event_published=False)
        if not self._catalog.replace_image(pending, expected=current):
            raise Conflict(f"image {image_id} changed meanwhile: read it again")
        request = ReanalysisRequest(image_id, features, force, pending.updated_at)
        try:
            self._queue.put_back(request.body(), 0, 0)
        except Exception:
            self._catalog.replace_image(current, expected=pending)  # not queued: the image is as it was
            raise
        return pending
