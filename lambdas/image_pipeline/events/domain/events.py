"""Versioned domain events: one per finished image, ``image.analyzed`` or ``image.failed``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from image_pipeline.results.domain.documents import ResultDocuments
from image_pipeline.results.domain.records import ImageRecord, Status

EVENT_VERSION = "1"
EVENT_SOURCE = "image-pipeline"
# SNS takes 256 KiB per message; results beyond this travel as a reference to a result document (the
# dispatcher turns it into a short-lived link for webhook receivers; the API reads them by image id).
MAX_EVENT_BYTES = 200 * 1024
_EVENT_NAMESPACE = uuid.UUID("6f1c2a4e-2b7d-4c1e-9a63-5b0f3c8d9e10")


def event_type(record: ImageRecord) -> str:
    return "image.analyzed" if record.status is Status.COMPLETED else "image.failed"


def build_event(record: ImageRecord, documents: ResultDocuments | None = None) -> dict[str, Any]:
    """The event body. Its id and time are stable for one outcome of one upload (the time is when the outcome
    was recorded, not when it is published), so a re-publish is the same event and consumers can dedupe it.

    Results too large for the event are left out (``resultsOmitted``); given ``documents``, they are written
    there first and the event carries their ``resultsRef`` (key and version)."""
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
        results = data.pop("results", None)
        data["resultsOmitted"] = True
        if documents is not None:
            data["resultsRef"] = documents.put(record.owner, record.image_id, results or {}).document()
    return event
