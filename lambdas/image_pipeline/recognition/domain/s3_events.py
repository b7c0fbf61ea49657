"""S3 event notifications as they arrive in an SQS message body (raw SNS delivery, or an SNS envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class ObjectRef:
    """One created object, as named by its event."""

    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    size: int | None
    # When S3 says the object was created (the record's eventTime): the start of the end-to-end latency.
    event_time: datetime | None = field(default=None, compare=False)

    @property
    def identity(self) -> str:
        """The idempotency key of an upload: bucket, key and version (or ETag), never a message id."""
        return f"{self.bucket}/{self.key}#{self.version_id or self.etag or ''}"


class MalformedEvent(ValueError):
    """The message body is not an S3 event notification."""


def _object_ref(record: dict[str, Any]) -> ObjectRef:
    s3 = record["s3"]
    obj = s3["object"]
    etag = obj.get("eTag") or obj.get("etag")
    return ObjectRef(
        bucket=s3["bucket"]["name"],
        key=unquote_plus(obj["key"]),
        etag=etag.strip('"') if etag else None,
        version_id=obj.get("versionId") or None,
        size=obj.get("size"),
        event_time=_event_time(record.get("eventTime")),
    )


def _event_time(value: object) -> datetime | None:
    """``2026-11-30T01:02:03.456Z``; None when absent or unreadable (the metric is skipped, not the image)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse_notification(body: str) -> list[ObjectRef]:
    """The created objects named by one message; none for ``s3:TestEvent`` and other event kinds."""
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
            message = json.loads(message["Message"])  # SNS envelope (raw delivery off)
    except (TypeError, ValueError) as error:
        raise MalformedEvent(f"not JSON: {error}") from error
    if not isinstance(message, dict):
        raise MalformedEvent("not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedEvent("no Records in the S3 event")
    try:
        return [
            _object_ref(record) for record in records if str(record.get("eventName", "")).startswith("ObjectCreated:")
        ]
    except (KeyError, TypeError, AttributeError) as error:
        raise MalformedEvent(f"an S3 record lacks {error}") from error
