"""What an endpoint receives: ``{type, timestamp, version, data: {imageId, status, results | error}}``.

The body is serialised once per event and endpoint and kept as bytes-to-be across retries, so every
attempt signs exactly the same body; only the ``webhook-timestamp`` changes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from image_pipeline.results.domain.records import now_iso

PAYLOAD_VERSION = "1"
IMAGE_EVENT_TYPES = ("image.analyzed", "image.failed")
TEST_EVENT_TYPE = "webhook.test"
# Fields of an image event's data that reach the endpoint (the owner and the S3 object stay inside).
_DATA_FIELDS = ("imageId", "status", "features", "image", "results", "resultsOmitted", "error")


def is_image_event(message: dict[str, Any]) -> bool:
    return message.get("type") in IMAGE_EVENT_TYPES and isinstance(message.get("data"), dict)


def image_payload(event: dict[str, Any]) -> dict[str, Any]:
    data = event["data"]
    return {
        "type": event["type"],
        "timestamp": event["time"],
        "version": PAYLOAD_VERSION,
        "data": {name: data[name] for name in _DATA_FIELDS if data.get(name) is not None},
    }


def webhook_test_event(webhook_id: str) -> dict[str, Any]:
    """A ``webhook.test`` event: a fresh id each time it is asked for."""
    return {
        "id": str(uuid.uuid4()),
        "type": TEST_EVENT_TYPE,
        "time": now_iso(),
        "data": {"webhookId": webhook_id, "message": "A test event from the image pipeline"},
    }


def webhook_test_payload(event: dict[str, Any]) -> dict[str, Any]:
    return {"type": event["type"], "timestamp": event["time"], "version": PAYLOAD_VERSION, "data": event["data"]}


def serialise(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
