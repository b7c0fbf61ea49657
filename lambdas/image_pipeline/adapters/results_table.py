"""The results table: analysis lock, image items, label index items, content items."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from image_pipeline.adapters.dynamo import from_item, to_item
from image_pipeline.domain.errors import AnalysisInProgress
from image_pipeline.domain.records import (
    CONTENT_SK,
    IMAGE_SK,
    LOCK_SK,
    ImageRecord,
    Status,
    image_item,
    image_pk,
    label_items,
    record_from_item,
)


def _conditional_failure(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class ResultsTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def get_image(self, image_id: str) -> ImageRecord | None:
        response = self._db.get_item(
            TableName=self._table, Key=self._key(image_pk(image_id), IMAGE_SK), ConsistentRead=True
        )
        item = response.get("Item")
        return record_from_item(from_item(item)) if item else None

    def acquire_lock(self, image_id: str, token: str, seconds: int) -> bool:
        now = int(time.time())
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item({"pk": image_pk(image_id), "sk": LOCK_SK, "token": token, "expiresAt": now + seconds}),
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def release_lock(self, image_id: str, token: str) -> None:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=self._key(image_pk(image_id), LOCK_SK),
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as error:
            if not _conditional_failure(error):
                raise

    def find_reusable(self, content_key: str) -> ImageRecord | None:
        response = self._db.get_item(TableName=self._table, Key=self._key(content_key, CONTENT_SK))
        item = response.get("Item")
        if not item:
            return None
        source = self.get_image(from_item(item)["imageId"])
        return source if source is not None and source.status is Status.COMPLETED else None

    def save(
        self, record: ImageRecord, *, previous: ImageRecord | None, content_key: str | None, lock_token: str
    ) -> None:
        new_labels = label_items(record)
        kept = {item["sk"] for item in new_labels}
        stale = [item["sk"] for item in label_items(previous)] if previous else []
        actions: list[dict[str, Any]] = [{"Put": {"TableName": self._table, "Item": to_item(image_item(record))}}]
        actions += [
            {"Delete": {"TableName": self._table, "Key": self._key(image_pk(record.image_id), sk)}}
            for sk in stale
            if sk not in kept
        ]
        actions += [{"Put": {"TableName": self._table, "Item": to_item(item)}} for item in new_labels]
        if content_key and record.status is Status.COMPLETED and record.reused_from is None:
            content = {"pk": content_key, "sk": CONTENT_SK, "imageId": record.image_id}
            actions.append({"Put": {"TableName": self._table, "Item": to_item(content)}})
        actions.append(
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": self._key(image_pk(record.image_id), LOCK_SK),
                    "ConditionExpression": "#token = :token",
                    "ExpressionAttributeNames": {"#token": "token"},
                    "ExpressionAttributeValues": {":token": {"S": lock_token}},
                }
            }
        )
        try:
            self._db.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise AnalysisInProgress(f"lost the analysis lock of image {record.image_id}") from error
            raise

    def mark_published(self, image_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=self._key(image_pk(image_id), IMAGE_SK),
            UpdateExpression="SET eventPublished = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )
