"""Backfill messages: an existing object (not an upload) the worker analyses for an image made for it.

The backfill function (``image_pipeline/backfill``) lists objects, makes a PENDING image per JPEG/PNG and queues one
``image.backfill`` message each on the upload queue; the worker analyses the object as an upload whose image id,
owner and features come from the message instead of the object's metadata, and counts the outcome for the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.s3_events import ObjectRef

MESSAGE_TYPE = "image.backfill"


@dataclass(frozen=True)
class BackfillRequest:
    run_id: str
    image_id: str
    owner: str
    features: FeatureSet
    ref: ObjectRef
    # Set when the image was analysed before without some of the features: the worker reanalyses it (paying only
    # for those) if it still waits for exactly this request, as for POST /images/{id}/reanalyze.
    requested_at: str | None = None

    def body(self) -> str:
        return json.dumps(
            {
                "type": MESSAGE_TYPE,
                "runId": self.run_id,
                "imageId": self.image_id,
                "owner": self.owner,
                "features": sorted(feature.value for feature in self.features),
                "bucket": self.ref.bucket,
                "key": self.ref.key,
                "etag": self.ref.etag,
                **({"requestedAt": self.requested_at} if self.requested_at else {}),
            }
        )


def parse_backfill(message: Any) -> BackfillRequest | None:
    """The request a decoded message body carries; None when it is not a backfill message."""
    if not isinstance(message, dict) or message.get("type") != MESSAGE_TYPE:
        return None
    etag = message.get("etag")
    return BackfillRequest(
        run_id=str(message["runId"]),
        image_id=str(message["imageId"]),
        owner=str(message["owner"]),
        features=frozenset(Feature(name) for name in message["features"]),
        ref=ObjectRef(
            bucket=str(message["bucket"]),
            key=str(message["key"]),
            etag=str(etag) if etag else None,
            version_id=None,
            size=None,
        ),
        requested_at=str(message["requestedAt"]) if message.get("requestedAt") else None,
    )


class BackfillProgress(Protocol):
    def finished(self, run_id: str, image_id: str, *, succeeded: bool) -> None:
        """Counts the image once for its run (``done`` or ``failed``), however often it is delivered."""
        ...


class NoProgress:
    """For a worker built without a run ledger (tests of other flows)."""

    def finished(self, run_id: str, image_id: str, *, succeeded: bool) -> None:
        return None
