"""The backfill's view of the results table and the upload queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from image_pipeline.results.adapters.results_table import ResultsStore
from image_pipeline.results.domain.records import ImageRecord
from image_pipeline.shared.dynamo import conditional_failure

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef as Entry

_BATCH = 10  # SendMessageBatch's limit


class BackfillImages:
    """Reads images and tombstones, creates PENDING images; one already there (a concurrent run) is no error."""

    def __init__(self, store: ResultsStore) -> None:
        self._store = store

    def get_image(self, image_id: str) -> ImageRecord | None:
        return self._store.get_image(image_id)

    def was_deleted(self, image_id: str) -> bool:
        return self._store.was_deleted(image_id)

    def replace_image(self, record: ImageRecord, *, expected: ImageRecord) -> bool:
        return self._store.replace_image(record, expected=expected)

    def create_pending(self, record: ImageRecord) -> None:
        try:
            self._store.create_pending(record)
        except ClientError as error:
            if not conditional_failure(error):
                raise


class SqsWorkQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    def send_all(self, bodies: Sequence[str]) -> None:
        for start in range(0, len(bodies), _BATCH):
            entries: list[Entry] = [
                {"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies[start : start + _BATCH])
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"could not queue {len(response['Failed'])} backfill messages: {response['Failed']}")

    def backlog(self) -> int:
        response = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )
        attributes = response["Attributes"]
        visible = attributes.get("ApproximateNumberOfMessages", "0")
        return int(visible) + int(attributes.get("ApproximateNumberOfMessagesDelayed", "0"))
