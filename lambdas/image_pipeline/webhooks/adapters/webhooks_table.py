"""The webhooks table: one item per subscription, one per delivery (with its attempts), under the webhook.

| item | pk | sk | index keys |
|---|---|---|---|
| subscription | ``WEBHOOK#<id>`` | ``WEBHOOK`` | ``ByOwner``: gsi1pk ``OWNER#<owner>``, gsi1sk ``<createdAt>#<id>`` |
| delivery | ``WEBHOOK#<id>`` | ``DELIVERY#<event time>#<webhook-id header>`` | TTL ``expiresAt`` |

A subscription's ``secrets`` hold sealed (KMS-encrypted) secrets only, and the owner index projects
``OWNER_INDEX_ATTRIBUTES``, never the secrets: a listing by owner has none.
| endpoint slots and breaker | ``WEBHOOK#<id>`` | ``FLOW`` | TTL ``expiresAt`` (30 days after the last lease) |
| owner slots | ``OWNER#<owner>`` | ``FLOW`` | TTL ``expiresAt`` |
| test sends of one minute | ``WEBHOOK#<id>`` | ``TESTS#<window start>`` | TTL ``expiresAt`` |

A slot is an attribute ``slot<n>`` = ``{token, expiresAt}`` (a lease); the breaker is ``failures`` and
``openUntil``. Every change is one conditional UpdateItem.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from image_pipeline.results.domain.documents import ResultsRef
from image_pipeline.shared.dynamo import conditional_failure, from_item, start_key, to_item
from image_pipeline.webhooks.domain.model import (
    AttemptRecord,
    DeliveryJob,
    DeliveryStatus,
    SigningSecret,
    Subscription,
    SubscriptionStatus,
)
from image_pipeline.webhooks.domain.ports import BreakerChange, DeliveryPage, DeliveryState, FlowScope, FlowState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


SUBSCRIPTION_SK = "WEBHOOK"
DELIVERY_PREFIX = "DELIVERY#"
FLOW_SK = "FLOW"
OWNER_INDEX = "ByOwnerListing"
# What the owner index carries besides its keys (stacks/constructs/webhooks_table.py projects exactly these).
OWNER_INDEX_ATTRIBUTES = (
    "webhookId",
    "owner",
    "url",
    "events",
    "status",
    "createdAt",
    "failingSince",
    "disabledReason",
    "disabledAt",
)
# Slot and breaker items of an endpoint or owner without deliveries for this long disappear (TTL).
FLOW_TTL_SECONDS = 30 * 86400
_SLOT = "slot"


def webhook_pk(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


def subscription_item(subscription: Subscription) -> dict[str, Any]:
    return {
        "pk": webhook_pk(subscription.webhook_id),
        "sk": SUBSCRIPTION_SK,
        "gsi1pk": f"OWNER#{subscription.owner}",
        "gsi1sk": f"{subscription.created_at}#{subscription.webhook_id}",
        "webhookId": subscription.webhook_id,
        "owner": subscription.owner,
        "url": subscription.url,
        "events": list(subscription.events),
        "secrets": _secrets_document(subscription.secrets),
        "status": subscription.status.value,
        "createdAt": subscription.created_at,
        "secretsVersion": subscription.secrets_version,
    }


def _secrets_document(secrets: tuple[SigningSecret, ...]) -> list[dict[str, Any]]:
    if not all(s.sealed for s in secrets):
        raise ValueError("only sealed secrets are stored")
    return [{"sealed": s.value, "expiresAt": s.expires_at} for s in secrets]


def _secret(document: dict[str, Any]) -> SigningSecret:
    # A plain ``value``: written before secrets were sealed (``make seal-secrets`` seals those in place).
    if "sealed" not in document:
        return SigningSecret(document["value"], document.get("expiresAt"), sealed=False)
    return SigningSecret(document["sealed"], document.get("expiresAt"))


def subscription_from_item(item: dict[str, Any]) -> Subscription:
    return Subscription(
        webhook_id=item["webhookId"],
        owner=item["owner"],
        url=item["url"],
        events=tuple(item["events"]),
        secrets=tuple(_secret(s) for s in item.get("secrets", [])),
        created_at=item["createdAt"],
        status=SubscriptionStatus(item.get("status", SubscriptionStatus.ACTIVE.value)),
        failing_since=item.get("failingSince"),
        disabled_reason=item.get("disabledReason"),
        disabled_at=item.get("disabledAt"),
        secrets_version=int(item.get("secretsVersion", 0)),
    )


def delivery_view(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": item["messageId"],
        "eventType": item["eventType"],
        "status": item["status"],
        "createdAt": item["createdAt"],
        "nextAttemptAt": item.get("nextAttemptAt"),
        "attempts": item.get("attempts", []),
    }


# What the delivery listing reads of a delivery record (not its body).
_LISTED = ("pk", "sk", "messageId", "eventType", "status", "createdAt", "nextAttemptAt", "attempts")


def _stored_job(item: dict[str, Any]) -> DeliveryJob | None:
    """The job that made this delivery, to send again (None for a record written before bodies were kept)."""
    if "body" not in item:
        return None
    created = datetime.fromisoformat(item["createdAt"]).timestamp()
    return DeliveryJob(
        webhook_id=item["pk"].removeprefix("WEBHOOK#"),
        message_id=item["messageId"],
        delivery_key=item["sk"],
        event_type=item["eventType"],
        body=item["body"],
        first_attempt_at=created,
        results=ResultsRef.from_document(item.get("resultsRef")),
    )


def _delivery_start_key(start: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    return start_key(
        start,
        {"pk", "sk"},
        lambda key: key["pk"] == webhook_pk(webhook_id) and key["sk"].startswith(DELIVERY_PREFIX),
    )


class WebhookStore:
    def __init__(self, client: DynamoDBClient, table_name: str, owner_index: str = OWNER_INDEX) -> None:
        self._db = client
        self._table = table_name
        self._owner_index = owner_index

    def _key(self, webhook_id: str, sk: str = SUBSCRIPTION_SK) -> dict[str, Any]:
        return {"pk": {"S": webhook_pk(webhook_id)}, "sk": {"S": sk}}

    def _update(self, webhook_id: str, sk: str, expression: str, values: dict[str, Any], **extra: Any) -> Any:
        return self._update_key(self._key(webhook_id, sk), expression, values, **extra)

    def _update_key(self, key: dict[str, Any], expression: str, values: dict[str, Any], **extra: Any) -> Any:
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": expression,
            **extra,
        }
        if values:
            arguments["ExpressionAttributeValues"] = to_item(values)
        try:
            return self._db.update_item(**arguments)
        except ClientError as error:
            if conditional_failure(error):
                return None
            raise

    # ----- subscriptions

    def create_subscription(self, subscription: Subscription) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=to_item(subscription_item(subscription)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_subscription(self, webhook_id: str) -> Subscription | None:
        item = self._db.get_item(TableName=self._table, Key=self._key(webhook_id), ConsistentRead=True).get("Item")
        return subscription_from_item(from_item(item)) if item else None

    def _owner_query(self, owner: str, **extra: Any) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "IndexName": self._owner_index,
            "KeyConditionExpression": "gsi1pk = :owner",
            "ExpressionAttributeValues": {":owner": {"S": f"OWNER#{owner}"}},
            **extra,
        }

    def list_subscriptions(self, owner: str) -> list[Subscription]:
        subscriptions = []
        for page in self._db.get_paginator("query").paginate(**self._owner_query(owner)):
            subscriptions += [subscription_from_item(from_item(item)) for item in page["Items"]]
        return subscriptions

    def all_subscriptions(self) -> Iterator[Subscription]:
        """Every subscription of every owner (a scan of the table: for maintenance, never on a request)."""
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :sk",
            "ExpressionAttributeValues": {":sk": {"S": SUBSCRIPTION_SK}},
        }
        while True:
            page = self._db.scan(**arguments)
            for item in page.get("Items", []):
                yield subscription_from_item(from_item(item))
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count_subscriptions(self, owner: str) -> int:
        return int(self._db.query(**self._owner_query(owner, Select="COUNT"))["Count"])

    def delete_subscription(self, webhook_id: str) -> None:
        self._db.delete_item(TableName=self._table, Key=self._key(webhook_id))

    def replace_secrets(self, webhook_id: str, secrets: tuple[SigningSecret, ...], read_version: int) -> bool:
        """Writes the secrets unless another rotation wrote since ``read_version`` was read; False then."""
        unchanged = "secretsVersion = :read"
        if read_version == 0:
            unchanged = f"({unchanged} OR attribute_not_exists(secretsVersion))"
        response = self._update(
            webhook_id,
            SUBSCRIPTION_SK,
            "SET secrets = :secrets, secretsVersion = :next",
            {":secrets": _secrets_document(secrets), ":read": read_version, ":next": read_version + 1},
            ConditionExpression=f"attribute_exists(pk) AND {unchanged}",
        )
        return response is not None

    def set_enabled(self, webhook_id: str) -> None:
        self._update(
            webhook_id,
            SUBSCRIPTION_SK,
            "SET #status = :active REMOVE failingSince, disabledReason, disabledAt",
            {":active": SubscriptionStatus.ACTIVE.value},
            ExpressionAttributeNames={"#status": "status"},
            ConditionExpression="attribute_exists(pk)",
        )

    def note_failure(self, webhook_id: str, now: float) -> float | None:
        response = self._update(
            webhook_id,
            SUBSCRIPTION_SK,
            "SET failingSince = if_not_exists(failingSince, :now)",
            {":now": now},
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        return float(from_item(response["Attributes"])["failingSince"])

    def note_success(self, webhook_id: str) -> None:
        self._update(
            webhook_id, SUBSCRIPTION_SK, "REMOVE failingSince", {}, ConditionExpression="attribute_exists(failingSince)"
        )

    def disable(self, webhook_id: str, reason: str, at: str) -> bool:
        response = self._update(
            webhook_id,
            SUBSCRIPTION_SK,
            "SET #status = :disabled, disabledReason = :reason, disabledAt = :at",
            {
                ":disabled": SubscriptionStatus.DISABLED.value,
                ":reason": reason,
                ":at": at,
                ":active": SubscriptionStatus.ACTIVE.value,
            },
            ExpressionAttributeNames={"#status": "status"},
            ConditionExpression="attribute_exists(pk) AND (#status = :active OR attribute_not_exists(#status))",
        )
        return response is not None

    # ----- deliveries

    def create_delivery(self, job: DeliveryJob, created_at: str, expires_at: int) -> bool:
        item = {
            "pk": webhook_pk(job.webhook_id),
            "sk": job.delivery_key,
            "messageId": job.message_id,
            "eventType": job.event_type,
            "status": DeliveryStatus.PENDING.value,
            "createdAt": created_at,
            "attemptCount": 0,
            "expiresAt": expires_at,
            # What resend and recover send again (never shown by the delivery listing).
            "body": job.body,
            **({"resultsRef": job.results.document()} if job.results else {}),
        }
        try:
            self._db.put_item(TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if conditional_failure(error):
                return False
            raise
        return True

    def delivery_state(self, webhook_id: str, delivery_key: str) -> DeliveryState | None:
        item = self._db.get_item(
            TableName=self._table, Key=self._key(webhook_id, delivery_key), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        plain = from_item(item)
        created = datetime.fromisoformat(plain["createdAt"]).timestamp()
        return DeliveryState(attempts=int(plain.get("attemptCount", 0)), created_at=created)

    def record_attempt(
        self, job: DeliveryJob, attempt: AttemptRecord, status: DeliveryStatus, next_attempt_at: str | None
    ) -> None:
        values: dict[str, Any] = {":attempt": [attempt.document()], ":empty": [], ":one": 1, ":status": status.value}
        expression = "SET attempts = list_append(if_not_exists(attempts, :empty), :attempt), #status = :status"
        if next_attempt_at:
            expression += ", nextAttemptAt = :next ADD attemptCount :one"
            values[":next"] = next_attempt_at
        else:
            expression += " ADD attemptCount :one REMOVE nextAttemptAt"
        self._update(
            job.webhook_id,
            job.delivery_key,
            expression,
            values,
            ExpressionAttributeNames={"#status": "status"},
        )

    def _deliveries(self, webhook_id: str, after: str, filter_expression: str, values: dict[str, Any]) -> list[Any]:
        items = []
        paginator = self._db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk > :after",
            FilterExpression=f"begins_with(sk, :prefix) AND {filter_expression}",
            ExpressionAttributeValues=to_item(
                {":pk": webhook_pk(webhook_id), ":after": after, ":prefix": DELIVERY_PREFIX, **values}
            ),
            ExpressionAttributeNames={"#status": "status"},
        ):
            items += [from_item(item) for item in page["Items"]]
        return items

    def find_delivery(self, webhook_id: str, message_id: str) -> DeliveryJob | None:
        found = self._deliveries(
            webhook_id,
            DELIVERY_PREFIX,
            "messageId = :message AND #status <> :none",
            {
                ":message": message_id,
                ":none": "",
            },
        )
        return _stored_job(found[0]) if found else None

    def failed_deliveries_since(self, webhook_id: str, since: str) -> list[DeliveryJob]:
        found = self._deliveries(
            webhook_id,
            f"{DELIVERY_PREFIX}{since}",
            "#status = :failed",
            {
                ":failed": DeliveryStatus.FAILED.value,
            },
        )
        return [job for job in map(_stored_job, found) if job is not None]

    def reopen_delivery(self, job: DeliveryJob) -> None:
        self._update(
            job.webhook_id,
            job.delivery_key,
            "SET #status = :pending REMOVE nextAttemptAt",
            {":pending": DeliveryStatus.PENDING.value},
            ExpressionAttributeNames={"#status": "status"},
            ConditionExpression="attribute_exists(pk)",
        )

    def list_deliveries(self, webhook_id: str, limit: int, start: dict[str, Any] | None) -> DeliveryPage:
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": webhook_pk(webhook_id)}, ":prefix": {"S": DELIVERY_PREFIX}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            arguments["ExclusiveStartKey"] = _delivery_start_key(start, webhook_id)
        arguments["ProjectionExpression"] = ", ".join(f"#{name}" for name in _LISTED)
        arguments["ExpressionAttributeNames"] = {f"#{name}": name for name in _LISTED}
        response = self._db.query(**arguments)
        last = response.get("LastEvaluatedKey")
        return DeliveryPage(
            items=[delivery_view(from_item(item)) for item in response["Items"]],
            next_key=from_item(last) if last else None,
        )

    # ----- delivery slots, breaker, test-send counts (fairness.py)

    def _flow_key(self, scope: FlowScope) -> dict[str, Any]:
        pk = webhook_pk(scope.name) if scope.kind == "endpoint" else f"OWNER#{scope.name}"
        return {"pk": {"S": pk}, "sk": {"S": FLOW_SK}}

    def flow_state(self, scope: FlowScope) -> FlowState:
        # An eventually consistent read (half the cost): the conditional write that follows decides.
        item = self._db.get_item(TableName=self._table, Key=self._flow_key(scope)).get("Item")
        if not item:
            return FlowState()
        plain = from_item(item)
        leases = {
            int(name.removeprefix(_SLOT)): float(lease["expiresAt"])
            for name, lease in plain.items()
            if name.startswith(_SLOT) and isinstance(lease, dict)
        }
        holders = {
            int(name.removeprefix(_SLOT)): str(lease.get("token", ""))
            for name, lease in plain.items()
            if name.startswith(_SLOT) and isinstance(lease, dict)
        }
        open_until = plain.get("openUntil")
        suspect = frozenset(
            int(name.removeprefix(_SLOT))
            for name, lease in plain.items()
            if name.startswith(_SLOT) and isinstance(lease, dict) and lease.get("suspect")
        )
        return FlowState(
            leases=leases,
            holders=holders,
            suspect=suspect,
            failures=int(plain.get("failures", 0)),
            open_until=float(open_until) if open_until is not None else None,
        )

    def take_slot(
        self,
        scope: FlowScope,
        slot: int,
        token: str,
        now: float,
        expires_at: float,
        breaker_failures: int | None,
        suspect: bool = False,
    ) -> bool:
        values: dict[str, Any] = {
            ":lease": {"token": token, "expiresAt": expires_at, "suspect": suspect},
            ":now": now,
            ":ttl": int(now + FLOW_TTL_SECONDS),
        }
        condition = "(attribute_not_exists(#slot) OR #slot.#expires <= :now)"
        if breaker_failures is not None:
            condition += " AND (attribute_not_exists(openUntil) OR openUntil <= :now)"
            if slot > 0:  # slot 0 is the probe of a tripped breaker (half-open)
                condition += " AND (attribute_not_exists(failures) OR failures < :tripped)"
                values[":tripped"] = breaker_failures
        response = self._update_key(
            self._flow_key(scope),
            "SET #slot = :lease, #expires = :ttl",
            values,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#slot": f"{_SLOT}{slot}", "#expires": "expiresAt"},
        )
        return response is not None

    def free_slot(self, scope: FlowScope, slot: int, token: str, breaker: BreakerChange | None) -> None:
        sets, adds, values = _breaker_update(breaker)
        removes = ["#slot"] + (["openUntil"] if breaker is not None and not breaker.failed else [])
        names = {"#slot": f"{_SLOT}{slot}", "#token": "token"}
        freed = self._update_key(
            self._flow_key(scope),
            _expression(sets, removes, adds),
            {**values, ":token": token},
            ConditionExpression="#slot.#token = :token",
            ExpressionAttributeNames=names,
        )
        if freed is None and breaker is not None:  # the lease had expired (and may be somebody else's now)
            self._update_key(self._flow_key(scope), _expression(sets, removes[1:], adds), values)

    def close_breaker(self, scope: FlowScope) -> None:
        self._update_key(
            self._flow_key(scope),
            "REMOVE failures, openUntil",
            {},
            ConditionExpression="attribute_exists(pk)",
        )

    def take_test_send(self, webhook_id: str, window_start: int, limit: int, expires_at: int) -> bool:
        response = self._update(
            webhook_id,
            f"TESTS#{window_start}",
            "ADD sends :one SET expiresAt = :expires",
            {":one": 1, ":limit": limit, ":expires": expires_at},
            ConditionExpression="attribute_not_exists(sends) OR sends < :limit",
        )
        return response is not None


def _breaker_update(breaker: BreakerChange | None) -> tuple[list[str], list[str], dict[str, Any]]:
    """SET and ADD clauses (and their values) that apply a breaker change."""
    if breaker is None:
        return [], [], {}
    if not breaker.failed:
        return ["failures = :zero"], [], {":zero": 0}
    sets: list[str] = []
    values: dict[str, Any] = {":one": 1}
    if breaker.open_until is not None:
        sets.append("openUntil = :until")
        values[":until"] = breaker.open_until
    return sets, ["failures :one"], values


def _expression(sets: list[str], removes: list[str], adds: list[str]) -> str:
    clauses = [("SET", sets), ("REMOVE", removes), ("ADD", adds)]
    return " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)
