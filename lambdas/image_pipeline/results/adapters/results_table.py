"""The results table: analysis lock, image items, label index items, content items.

Keys (one table, generic names):
- image:   pk=IMAGE#<id>  sk=IMAGE          gsi1 (ByOwner):      OWNER#<owner> / <createdAt>#<id>
- label:   pk=IMAGE#<id>  sk=LABEL#<name>
           gsi2 (ByOwnerLabel): OWNER#<owner>#LABEL#<name> / <confidence>#<createdAt>#<id>
- lock:    pk=IMAGE#<id>  sk=LOCK           (expires, TTL)
- content: pk=CONTENT#<owner>#<etag>#<size>#<features>  sk=CONTENT  -> the owner's image whose analysis can be reused
- quota:   pk=QUOTA#<owner>#<yyyy-mm-dd>  sk=QUOTA  count = images created that UTC day (expiresAt, TTL: 2 days)
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from image_pipeline.recognition.domain.features import Feature, feature_key
from image_pipeline.recognition.domain.image_header import ImageFacts
from image_pipeline.results.domain.records import ContentFingerprint, ImageRecord, Status
from image_pipeline.shared.dynamo import conditional_failure, from_item, start_key, to_item
from image_pipeline.shared.errors import AnalysisInProgress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# Label items are written in the same transaction as their image (at most 100 items): the index holds
# the most confident labels of an image, up to this many.
MAX_INDEXED_LABELS = 45
IMAGE_SK = "IMAGE"
LOCK_SK = "LOCK"
CONTENT_SK = "CONTENT"
QUOTA_SK = "QUOTA"
# The table's TTL attribute on a PENDING image (ImageRecord.forget_after): an upload that never comes is
# forgotten; a finished result drops it and is kept.
PENDING_EXPIRY = "expiresAt"
# Left by a delete under the image's key: an upload that lands later (its presigned POST is still valid)
# is not analysed and does not bring the image back.
DELETED_SK = "DELETED"


def image_pk(image_id: str) -> str:
    return f"IMAGE#{image_id}"


def owner_pk(owner: str) -> str:
    return f"OWNER#{owner}"


def label_pk(owner: str, label: str) -> str:
    return f"OWNER#{owner}#LABEL#{label.lower()}"


def confidence_sort_key(confidence: float) -> str:
    """Zero-padded so that string order is numeric order: ``097.125``."""
    return f"{confidence:07.3f}"


def quota_pk(owner: str, day: date) -> str:
    return f"QUOTA#{owner}#{day.isoformat()}"


def content_pk(content: ContentFingerprint) -> str:
    return f"CONTENT#{content.owner}#{content.etag}#{content.size_bytes}#{content.features}"


def image_item(record: ImageRecord) -> dict[str, Any]:
    extra = {key: value for key, value in record.extra.items() if not (record.is_terminal and key == PENDING_EXPIRY)}
    if record.forget_after is not None and not record.is_terminal:
        extra[PENDING_EXPIRY] = record.forget_after
    return {
        **extra,
        **record.document(),
        "pk": image_pk(record.image_id),
        "sk": IMAGE_SK,
        "gsi1pk": owner_pk(record.owner),
        "gsi1sk": f"{record.created_at}#{record.image_id}",
        "objectIdentity": record.object_identity,
        "eventPublished": record.event_published,
    }


def indexed_labels(record: ImageRecord) -> list[dict[str, Any]]:
    """The labels that get an index item: the most confident first, each name once."""
    seen: set[str] = set()
    chosen = []
    for label in sorted(record.labels(), key=lambda item: -item["confidence"]):
        if label["name"].lower() not in seen:
            seen.add(label["name"].lower())
            chosen.append(label)
    return chosen[:MAX_INDEXED_LABELS]


def label_items(record: ImageRecord) -> list[dict[str, Any]]:
    return [
        {
            "pk": image_pk(record.image_id),
            "sk": f"LABEL#{label['name'].lower()}",
            "gsi2pk": label_pk(record.owner, label["name"]),
            "gsi2sk": f"{confidence_sort_key(label['confidence'])}#{record.created_at}#{record.image_id}",
            "imageId": record.image_id,
            "owner": record.owner,
            "label": label["name"],
            "confidence": label["confidence"],
            "createdAt": record.created_at,
        }
        for label in indexed_labels(record)
    ]


def _facts(image: dict[str, Any]) -> ImageFacts:
    return ImageFacts(
        format=image["format"],
        width=int(image["width"]),
        height=int(image["height"]),
        size_bytes=int(image["sizeBytes"]),
    )


def record_from_item(item: dict[str, Any]) -> ImageRecord:
    image = item.get("image")
    record = ImageRecord(
        image_id=item["imageId"],
        owner=item["owner"],
        status=Status(item["status"]),
        created_at=item["createdAt"],
        updated_at=item.get("updatedAt", item["createdAt"]),
        object=item.get("object", {}),
        object_identity=item.get("objectIdentity", ""),
        features=tuple(item.get("features", ())),
        image=_facts(image) if image else None,
        results=item.get("results"),
        error=item.get("error"),
        reused_from=item.get("reusedFrom"),
        event_published=bool(item.get("eventPublished", False)),
        forget_after=item.get(PENDING_EXPIRY) if item["status"] == Status.PENDING else None,
    )
    # Attributes this module does not write (e.g. set by another writer of the item) are kept as they are.
    own = image_item(record)
    return replace(record, extra={key: value for key, value in item.items() if key not in own})


# BatchWriteItem takes 25 requests, BatchGetItem 100 keys.
_WRITE_BATCH = 25
# Items a filtered listing evaluates per read (DynamoDB also stops a read at 1 MB).
_FILTERED_READ = 200
# A delete holds the analysis lock this long at most (it removes the lock itself when it completes).
_DELETE_LOCK_SECONDS = 60
# How long a deleted image's marker stays (DynamoDB TTL): longer than an upload link lives and than SQS keeps
# a message (14 days at most, so an event redriven from the dead-letter queue is still recognised).
_TOMBSTONE_SECONDS = 15 * 24 * 3600


# Results of an unfinished analysis (some features held back by the quota), for exactly one object:
#   pk=IMAGE#<id>  sk=PARTIAL  objectIdentity=<bucket/key/version or etag>  results={feature: result}
# The final save deletes it; it expires through the TTL if the image is never finished.
PARTIAL_SK = "PARTIAL"
_PARTIAL_SECONDS = 15 * 24 * 3600


def _start_key(start: dict[str, Any], partition: tuple[str, str], sort: str, floor: str = "") -> dict[str, Any]:
    name, value = partition
    return start_key(start, {"pk", "sk", name, sort}, lambda key: key[name] == value and key[sort] >= floor)


def _position(item: dict[str, Any], key_names: tuple[str, ...]) -> dict[str, Any]:
    """Where an item sits in a listing: the start key of a page that continues after it."""
    return {name: item[name] for name in key_names}


def _lock_item(image_id: str, token: str, expires_at: int) -> dict[str, Any]:
    """The analysis lock of an image: held by ``token`` until ``expires_at`` (epoch seconds, the table's TTL)."""
    return to_item({"pk": image_pk(image_id), "sk": LOCK_SK, "token": token, "expiresAt": expires_at})


@dataclass(frozen=True)
class IndexNames:
    by_owner: str
    by_owner_label: str


class ResultsStore:
    def __init__(self, client: DynamoDBClient, table_name: str, indexes: IndexNames | None = None) -> None:
        self._db = client
        self._table = table_name
        self._indexes = indexes

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
                Item=_lock_item(image_id, token, now + seconds),
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as error:
            if conditional_failure(error):
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
            if not conditional_failure(error):
                raise

    def claim_upload(self, image_id: str, object_identity: str) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(image_pk(image_id), IMAGE_SK),
                UpdateExpression="SET objectIdentity = :mine",
                ConditionExpression=(
                    "attribute_exists(pk) AND "
                    "(attribute_not_exists(objectIdentity) OR objectIdentity = :unspent OR objectIdentity = :mine)"
                ),
                ExpressionAttributeValues={":mine": {"S": object_identity}, ":unspent": {"S": ""}},
            )
        except ClientError as error:
            if conditional_failure(error):
                return False
            raise
        return True

    def was_deleted(self, image_id: str) -> bool:
        response = self._db.get_item(TableName=self._table, Key=self._key(image_pk(image_id), DELETED_SK))
        return "Item" in response

    def find_reusable(self, content: ContentFingerprint) -> ImageRecord | None:
        response = self._db.get_item(TableName=self._table, Key=self._key(content_pk(content), CONTENT_SK))
        item = response.get("Item")
        if not item:
            return None
        source = self.get_image(from_item(item)["imageId"])
        return source if source is not None and source.status is Status.COMPLETED else None

    def save(
        self, record: ImageRecord, *, previous: ImageRecord | None, content: ContentFingerprint | None, lock_token: str
    ) -> None:
        new_labels = label_items(record)
        kept = {item["sk"] for item in new_labels}
        stale = [item["sk"] for item in label_items(previous)] if previous else []
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(image_item(record))}
        if previous is not None:
            # The item was read under the lock; if it is gone now, the image was deleted meanwhile.
            put["ConditionExpression"] = "attribute_exists(pk)"
        actions: list[Any] = [{"Put": put}]  # items are built as plain attribute-value dicts
        actions += [
            {"Delete": {"TableName": self._table, "Key": self._key(image_pk(record.image_id), sk)}}
            for sk in stale
            if sk not in kept
        ]
        actions += [{"Put": {"TableName": self._table, "Item": to_item(item)}} for item in new_labels]
        if content and record.status is Status.COMPLETED and record.reused_from is None:
            pointer = {"pk": content_pk(content), "sk": CONTENT_SK, "imageId": record.image_id}
            actions.append({"Put": {"TableName": self._table, "Item": to_item(pointer)}})
        actions.append({"Delete": {"TableName": self._table, "Key": self._key(image_pk(record.image_id), PARTIAL_SK)}})
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
                raise AnalysisInProgress(
                    f"lost the analysis lock of image {record.image_id}, or the image was deleted"
                ) from error
            raise

    def get_partial(self, image_id: str, object_identity: str) -> dict[str, Any]:
        response = self._db.get_item(
            TableName=self._table, Key=self._key(image_pk(image_id), PARTIAL_SK), ConsistentRead=True
        )
        item = from_item(response["Item"]) if "Item" in response else {}
        if item.get("objectIdentity") != object_identity:
            return {}
        return dict(item.get("results", {}))

    def save_partial(self, image_id: str, object_identity: str, results: dict[str, Any], lock_token: str) -> None:
        partial = {
            "pk": image_pk(image_id),
            "sk": PARTIAL_SK,
            "objectIdentity": object_identity,
            "results": results,
            "expiresAt": int(time.time()) + _PARTIAL_SECONDS,
        }
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": self._key(image_pk(image_id), LOCK_SK),
                            "ConditionExpression": "#token = :token",
                            "ExpressionAttributeNames": {"#token": "token"},
                            "ExpressionAttributeValues": {":token": {"S": lock_token}},
                        }
                    },
                    {"Put": {"TableName": self._table, "Item": to_item(partial)}},
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise AnalysisInProgress(f"lost the analysis lock of image {image_id}") from error
            raise

    def mark_published(self, image_id: str) -> None:
        # Conditional: an update on a key with no item would create one (a stub without imageId or owner).
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(image_pk(image_id), IMAGE_SK),
                UpdateExpression="SET eventPublished = :true",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        except ClientError as error:
            if not conditional_failure(error):
                raise

    # --- the API's side: pending images, listings, deletion ---

    def _index(self) -> IndexNames:
        if self._indexes is None:
            raise RuntimeError("this ResultsStore was made without index names")
        return self._indexes

    def take(self, owner: str, day: date, *, limit: int, forget_at: datetime) -> bool:
        """One UpdateItem: adds one to the owner's counter of ``day`` unless it already reached ``limit``."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(quota_pk(owner, day), QUOTA_SK),
                UpdateExpression="ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#expires": PENDING_EXPIRY},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(int(forget_at.timestamp()))},
                },
            )
        except ClientError as error:
            if conditional_failure(error):
                return False
            raise
        return True

    def create_pending(self, record: ImageRecord) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=to_item(image_item(record)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def replace_image(self, record: ImageRecord, *, expected: ImageRecord) -> bool:
        """The image item only (its label items stay): written if status and updatedAt are still ``expected``'s."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(image_item(record)),
                ConditionExpression="#status = :status AND updatedAt = :updated",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": expected.status.value},
                    ":updated": {"S": expected.updated_at},
                },
            )
        except ClientError as error:
            if conditional_failure(error):
                return False
            raise
        return True

    def _page(
        self, request: dict[str, Any], limit: int, key_names: tuple[str, ...]
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to ``limit`` items of a query, following DynamoDB's pages while a filter leaves them short.

        With a filter each read evaluates at least ``_FILTERED_READ`` items (a rare status would otherwise
        take one read per ``limit`` items of the whole partition); a read that finds more than the page holds
        is cut, and the next page starts after the last item kept (its ``key_names``)."""
        items: list[dict[str, Any]] = []
        start = request.pop("ExclusiveStartKey", None)
        filtered = "FilterExpression" in request
        while True:
            wanted = limit - len(items)
            page = self._db.query(
                **request,
                Limit=max(wanted, _FILTERED_READ) if filtered else wanted,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            found = [from_item(item) for item in page.get("Items", [])]
            if len(found) > wanted:
                items += found[:wanted]
                return items, _position(items[-1], key_names)
            items += found
            start = page.get("LastEvaluatedKey")
            if start is None or len(items) >= limit:
                return items, from_item(start) if start else None

    def list_by_owner(
        self, owner: str, status: Status | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[tuple[ImageRecord, dict[str, Any]]], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index().by_owner,
            "KeyConditionExpression": "gsi1pk = :owner",
            "ExpressionAttributeValues": {":owner": {"S": owner_pk(owner)}},
            "ScanIndexForward": False,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        if start:
            request["ExclusiveStartKey"] = _start_key(start, ("gsi1pk", owner_pk(owner)), "gsi1sk")
        key_names = ("pk", "sk", "gsi1pk", "gsi1sk")
        items, last = self._page(request, limit, key_names)
        return [(record_from_item(item), _position(item, key_names)) for item in items], last

    def list_by_label(
        self, owner: str, label: str, min_confidence: float, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[tuple[ImageRecord, dict[str, Any]]], dict[str, Any] | None]:
        partition, floor = label_pk(owner, label), confidence_sort_key(min_confidence)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": self._index().by_owner_label,
            "KeyConditionExpression": "gsi2pk = :label AND gsi2sk >= :floor",
            "ExpressionAttributeValues": {":label": {"S": partition}, ":floor": {"S": floor}},
            "ScanIndexForward": False,
        }
        if start:
            request["ExclusiveStartKey"] = _start_key(start, ("gsi2pk", partition), "gsi2sk", floor)
        key_names = ("pk", "sk", "gsi2pk", "gsi2sk")
        hits, last = self._page(request, limit, key_names)
        images = self._get_images([hit["imageId"] for hit in hits])
        return [(images[hit["imageId"]], _position(hit, key_names)) for hit in hits if hit["imageId"] in images], last

    def _get_images(self, image_ids: list[str]) -> dict[str, ImageRecord]:
        found: dict[str, ImageRecord] = {}
        keys: list[Any] = [self._key(image_pk(image_id), IMAGE_SK) for image_id in dict.fromkeys(image_ids)]
        while keys:
            response = self._db.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
            for item in response.get("Responses", {}).get(self._table, []):
                record = record_from_item(from_item(item))
                found[record.image_id] = record
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
            keys = list(unprocessed["Keys"]) if unprocessed else []
        return found

    def delete_image(self, record: ImageRecord) -> None:
        """Every item under the image's key (result, label items, lock) and the content pointer naming it.

        The delete first takes the image's analysis lock, whoever holds it: a worker still analysing can then
        no longer save (its save needs its own lock), and one that saved before is seen by the reads below."""
        now = int(time.time())
        self._db.put_item(
            TableName=self._table,
            Item=_lock_item(record.image_id, f"delete-{uuid.uuid4().hex}", now + _DELETE_LOCK_SECONDS),
        )
        # Before the image item goes: the worker checks it whenever it finds no image item.
        self._db.put_item(
            TableName=self._table,
            Item=to_item({"pk": image_pk(record.image_id), "sk": DELETED_SK, "expiresAt": now + _TOMBSTONE_SECONDS}),
        )
        record = self.get_image(record.image_id) or record
        keys: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": image_pk(record.image_id)}},
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        while True:
            page = self._db.query(**request)
            keys += [{"pk": item["pk"], "sk": item["sk"]} for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # The image item goes last: until it is gone, a retried delete still finds the image.
        others = [key for key in keys if key["sk"]["S"] not in (IMAGE_SK, DELETED_SK)]
        for first in range(0, len(others), _WRITE_BATCH):
            pending: dict[str, Any] = {
                self._table: [{"DeleteRequest": {"Key": key}} for key in others[first : first + _WRITE_BATCH]]
            }
            while pending:
                pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        self._delete_content_pointer(record)
        self._db.delete_item(TableName=self._table, Key=self._key(image_pk(record.image_id), IMAGE_SK))

    def _delete_content_pointer(self, record: ImageRecord) -> None:
        etag, image = record.object.get("etag"), record.image
        if record.status is not Status.COMPLETED or not etag or image is None:
            return
        features = frozenset(Feature(name) for name in record.features)
        content = ContentFingerprint(record.owner, etag, image.size_bytes, feature_key(features))
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=self._key(content_pk(content), CONTENT_SK),
                ConditionExpression="imageId = :id",
                ExpressionAttributeValues={":id": {"S": record.image_id}},
            )
        except ClientError as error:
            if not conditional_failure(error):
                raise
