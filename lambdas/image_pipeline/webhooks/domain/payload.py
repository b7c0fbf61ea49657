"""What an endpoint receives: ``{type, timestamp, version, data: {imageId, status, results | error}}``.

The body is serialised once per event and endpoint and kept across retries; only the ``webhook-timestamp``
changes, and, for a result too large for the event (``resultsOmitted``), the ``resultsUrl`` minted for each
attempt (and its ``resultsUrlExpiresAt``). Each attempt signs exactly the body it sends.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from image_pipeline.results.domain.records import now_iso

PAYLOAD_VERSION = "1"
IMAGE_EVENT_TYPES = ("image.analyzed", "image.failed")
TEST_EVENT_TYPE = "webhook.test"
# Sent to an owner's other active endpoints when one of theirs is disabled; every endpoint gets it.
DISABLED_EVENT_TYPE = "webhook.disabled"
PLATFORM_EVENT_TYPES = (TEST_EVENT_TYPE, DISABLED_EVENT_TYPE)
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


def with_results_link(body: str, url: str, expires_at: str) -> str:
    """The body with a link to the full result: a presigned URL valid until ``expires_at`` at most."""
    payload = json.loads(body)
    payload["data"] |= {"resultsUrl": url, "resultsUrlExpiresAt": expires_at}
    return serialise(payload)


def webhook_test_event(webhook_id: str) -> dict[str, Any]:
    """A ``webhook.test`` event: a fresh id each time it is asked for."""
    return {
        "id": str(uuid.uuid4()),
        "type": TEST_EVENT_TYPE,
        "time": now_iso(),
        "data": {"webhookId": webhook_id, "message": "A test event from the image pipeline"},
    }


def webhook_disabled_event(webhook_id: str, url: str, reason: str, disabled_at: str) -> dict[str, Any]:
    """``webhook.disabled``: one per disabling (its id is derived from the webhook and the time it was disabled)."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"webhook.disabled|{webhook_id}|{disabled_at}")),
        "type": DISABLED_EVENT_TYPE,
        "time": disabled_at,
        "data": {"webhookId": webhook_id, "url": url, "reason": reason, "disabledAt": disabled_at},
    }


def platform_payload(event: dict[str, Any]) -> dict[str, Any]:
    """What an endpoint receives for a platform event (webhook.test, webhook.disabled)."""
    return {"type": event["type"], "timestamp": event["time"], "version": PAYLOAD_VERSION, "data": event["data"]}


def serialise(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
