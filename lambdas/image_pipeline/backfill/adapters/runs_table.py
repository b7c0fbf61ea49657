"""Backfill runs in the results table: one counter item per run, one marker per finished image.

Keys:
- run:    pk=BACKFILL#<run>  sk=RUN            listed, ignored, skipped, queued, done, failed (ADD), expiresAt
- marker: pk=BACKFILL#<run>  sk=COUNTED#<id>   the image was counted for the run (expiresAt, TTL)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from image_pipeline.backfill.domain.backfill import BatchCounts, RunProgress
from image_pipeline.shared.dynamo import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RUN_SK = "RUN"
# A run's items are forgotten 30 days after its last count (the table's TTL attribute).
KEEP_SECONDS = 30 * 24 * 3600
COUNTERS = ("listed", "ignored", "skipped", "queued", "done", "failed")


def run_pk(run_id: str) -> str:
    return f"BACKFILL#{run_id}"


class BackfillRuns:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def _key(self, run_id: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": run_pk(run_id)}, "sk": {"S": sk}}

    def _expiry(self) -> dict[str, Any]:
        return {"N": str(int(time.time()) + KEEP_SECONDS)}

    def add(self, run_id: str, counts: BatchCounts) -> None:
        values = {name: value for name, value in counts.as_dict().items() if value}
        if not values:
            return
        self._db.update_item(
            TableName=self._table,
            Key=self._key(run_id, RUN_SK),
            UpdateExpression="ADD " + ", ".join(f"{name} :{name}" for name in values) + " SET expiresAt = :expires",
            ExpressionAttributeValues={
                **{f":{name}": {"N": str(value)} for name, value in values.items()},
                ":expires": self._expiry(),
            },
        )

    def finished(self, run_id: str, image_id: str, *, succeeded: bool) -> None:
        """The marker and the count in one transaction: a second delivery of the same image counts nothing."""
        counter = "done" if succeeded else "failed"
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**self._key(run_id, f"COUNTED#{image_id}"), "expiresAt": self._expiry()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": self._key(run_id, RUN_SK),
                            "UpdateExpression": f"ADD {counter} :one SET expiresAt = :expires",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":expires": self._expiry()},
                        }
                    },
                ]
            )
        except ClientError as error:
            if not _marker_exists(error):
                raise

    def read(self, run_id: str) -> RunProgress:
        response = self._db.get_item(TableName=self._table, Key=self._key(run_id, RUN_SK), ConsistentRead=True)
        item = from_item(response.get("Item", {}))
        return RunProgress(run_id, **{name: int(item.get(name, 0)) for name in COUNTERS})


def _marker_exists(error: ClientError) -> bool:
    """The transaction was cancelled because the image's marker is there (it was counted before)."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"
