"""The upload queue, as the worker writes to it: a message held back by the quota goes back as a new one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A message attribute, so that the body stays the S3 event as it came.
DEFERRALS_ATTRIBUTE = "deferrals"


def deferrals_of(attributes: Mapping[str, Any]) -> int:
    """The count carried by a message (0 for a first delivery or an unreadable value)."""
    raw = attributes.get(DEFERRALS_ATTRIBUTE)
    value = getattr(raw, "string_value", None) or (raw.get("stringValue") if isinstance(raw, Mapping) else None)
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


class UploadQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    def put_back(self, body: str, deferrals: int, delay_seconds: int) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            MessageAttributes={DEFERRALS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferrals)}},
        )
