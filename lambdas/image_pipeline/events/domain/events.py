"""Versioned domain events: one per finished image, ``image.analyzed`` or ``image.failed``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from image_pipeline.results.domain.records import ImageRecord, Status

EVENT_VERSION = "1"
EVENT_SOURCE = "image-pipeline"
# SNS takes 256 KiB per message; results beyond this are left for the reader to fetch by image id.
MAX_EVENT_BYTES = 200 * 1024
_EVENT_NAMESPACE = uuid.UUID("6f1c2a4e-2b7d-4c1e-9a63-5b0f3c8d9e10")


def event_type(record: ImageRecord) -> str:
    return "image.analyzed" if record.status is Status.COMPLETED else "image.failed"


def build_event(record: ImageRecord) -> dict[str, Any]:
    """The event body. Its id and time are stable for one outcome of one upload (the time is when the outcome
    was recorded, not when it is published), so a re-publish is the same event and consumers can dedupe it."""
    data: dict[str, Any] = {
        "imageId": record.image_id,
        "owner": record.owner,
        "status": record.status.value,
        "object": record.object,
        "features": list(record.features),
    }
    if record.status is Status.COMPLETED:
        data["image"] = record.document().get("image")
        data["results"] = record.results or {}
    else:
        data["error"] = record.error
    event = {
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, f"{record.object_identity}|{record.status.value}")),
        "type": event_type(record),
        "version": EVENT_VERSION,
        "source": EVENT_SOURCE,
        "time": record.updated_at,
        "data": data,
    }
    if len(json.dumps(event)) > MAX_EVENT_BYTES:
        data.pop("results", None)
        data["resultsOmitted"] = True
    return event
