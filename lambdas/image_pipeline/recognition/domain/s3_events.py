"""S3 event notifications as they arrive in an SQS message body (raw SNS delivery, or an SNS envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
    )


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
