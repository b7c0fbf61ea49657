"""Delivery jobs on the dispatch queue: delayed sends, the dead-letter queue, and its redrive."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from image_pipeline.webhooks.domain.model import DeliveryJob, is_job

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef as Entry


MAX_DELAY_SECONDS = 900  # SQS's limit; longer waits take several hops
_BATCH = 10
# The sum of a SendMessageBatch request's bodies: 256 KiB, SQS's limit before it allowed 1 MiB messages.
MAX_BATCH_BYTES = 256 * 1024


class SqsJobQueue:
    def __init__(self, client: SQSClient, queue_url: str, dead_letter_url: str | None = None) -> None:
        self._sqs = client
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url

    def enqueue(self, jobs: list[DeliveryJob], now: float) -> None:
        entries: list[Entry] = [
            {
                "Id": str(index),
                "MessageBody": job.to_message(),
                "DelaySeconds": min(MAX_DELAY_SECONDS, max(0, math.ceil(job.not_before - now))),
            }
            for index, job in enumerate(jobs)
        ]
        for batch in _batches(entries):
            response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=batch)
            if response.get("Failed"):
                raise RuntimeError(f"could not queue {len(response['Failed'])} delivery jobs: {response['Failed']}")

    def dead_letter(self, job: DeliveryJob) -> None:
        if self._dead_letter_url is None:
            raise RuntimeError("no dead-letter queue configured")
        self._sqs.send_message(QueueUrl=self._dead_letter_url, MessageBody=job.to_message())

    def redrive(self, now: float, limit: int = 10_000) -> int:
        """Moves what rests in the dead-letter queue back to the dispatch queue; returns how many.

        A delivery job starts a fresh retry window (same webhook-id and body, so receivers still
        dedupe); any other message (an event whose fan-out failed) is replayed as it was.
        """
        if self._dead_letter_url is None:
            raise RuntimeError("no dead-letter queue configured")
        moved = 0
        while moved < limit:
            messages = self._sqs.receive_message(
                QueueUrl=self._dead_letter_url, MaxNumberOfMessages=_BATCH, WaitTimeSeconds=1
            ).get("Messages", [])
            if not messages:
                return moved
            for message in messages:
                self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=_replayed(message["Body"], now))
                self._sqs.delete_message(QueueUrl=self._dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        return moved


def _batches(entries: list[Entry]) -> list[list[Entry]]:
    """Up to 10 entries per request whose bodies together stay within the request limit (a larger one goes alone):
    one event's jobs carry its whole body, once per webhook."""
    batches: list[list[Entry]] = []
    size = 0
    for entry in entries:
        length = len(entry["MessageBody"].encode())
        if not batches or len(batches[-1]) == _BATCH or size + length > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += length
    return batches


def _replayed(body: str, now: float) -> str:
    try:
        message = json.loads(body)
    except ValueError:
        return body
    if isinstance(message, dict) and is_job(message):
        return DeliveryJob.from_message(message).restarted(now).to_message()
    return body
