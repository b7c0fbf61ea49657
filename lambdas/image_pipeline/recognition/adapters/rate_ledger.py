"""The rate limiter's shared counters in the results table: one small item per operation and slot.

    pk=RATE#<operation>#<slot>  sk=RATE  used=<tokens taken>  expiresAt=<epoch s, the table's TTL>

A take is one conditional UpdateItem (``ADD used :n`` if ``used <= capacity - n``); when the slot has fewer
tokens left than asked for, the failed condition returns the item (``ReturnValuesOnConditionCheckFailure``)
and the rest is taken with a second write. Items expire through the table's TTL a minute after their slot.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from image_pipeline.shared.dynamo import conditional_failure

RATE_SK = "RATE"
_KEEP_SECONDS = 60
_ATTEMPTS = 3


class DynamoSlotLedger:
    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name
        self._lock = threading.Lock()
        self.writes = 0  # every write is billed, a failed condition included

    def take(self, key: str, slot: int, wanted: int, capacity: int, slot_start: float) -> int:
        expires = int(slot_start) + _KEEP_SECONDS
        for _ in range(_ATTEMPTS):
            if wanted <= 0:
                return 0
            with self._lock:
                self.writes += 1
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"RATE#{key}#{slot}"}, "sk": {"S": RATE_SK}},
                    UpdateExpression="ADD used :n SET expiresAt = if_not_exists(expiresAt, :expires)",
                    ConditionExpression="attribute_not_exists(used) OR used <= :room",
                    ExpressionAttributeValues={
                        ":n": {"N": str(wanted)},
                        ":room": {"N": str(capacity - wanted)},
                        ":expires": {"N": str(expires)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return wanted
            except ClientError as error:
                if not conditional_failure(error):
                    raise
                used = int(error.response.get("Item", {}).get("used", {}).get("N", capacity))
                wanted = capacity - used
        return 0
