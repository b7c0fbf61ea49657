"""The real dispatcher handler against moto, delivering to a receiver on loopback (local-mode settings)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from moto import mock_aws
from standardwebhooks.webhooks import Webhook

from image_pipeline.events.domain import events
from image_pipeline.events.domain.events import build_event
from image_pipeline.results.adapters.s3_results import S3ResultDocuments
from image_pipeline.results.domain.records import ImageRecord, Status, now_iso
from image_pipeline.webhooks import composition as dispatcher_composition
from image_pipeline.webhooks import handler as dispatcher
from image_pipeline.webhooks.adapters.kms_secrets import KmsSecrets
from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.model import Subscription
from image_pipeline.webhooks.domain.secrets import seal_plain_secrets
from image_pipeline.webhooks.domain.subscriptions import WebhookService
from image_pipeline.webhooks.domain.targets import TargetPolicy
from local.tools.webhook_receiver import WebhookReceiver
from ops.seal_secrets import main as seal_secrets_main
from tests.support.lambda_sqs import BatchResult, feed_once
from tests.support.local_stacks import LocalStacks, provision_for
from tests.support.synth import Synthesized

DISPATCHER_HANDLER = "image_pipeline.handlers.dispatcher.handler"
OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())


def assert_published(payload: dict[str, Any]) -> None:
    """The body an endpoint received is valid against its event's schema in the OpenAPI document's webhooks."""
    operation = OPENAPI["webhooks"][payload["type"]]["post"]
    reference = operation["requestBody"]["content"]["application/json"]["schema"]
    Draft202012Validator({**reference, "components": OPENAPI["components"]}).validate(payload)


# Retries without waiting (every wait of the schedule becomes 0 s, Retry-After still counts), and room for
# one owner's jobs of a batch side by side: these tests are about deliveries, not about sharing the slots
# (test_webhook_fairness.py), and a job put back to wait for its owner's slot would outlast drain().
FAST_RETRIES = {"WEBHOOK_FIRST_RETRY_SECONDS": "0", "WEBHOOK_OWNER_SHARE": "10"}
DAY = 86400


def image_event(owner: str = "alice", image_id: str = "img-1", status: Status = Status.COMPLETED) -> dict[str, Any]:
    """The event the worker publishes (the real builder), as the topic delivers it raw to the queue."""
    return build_event(image_record(owner, image_id, status))


def image_record(owner: str = "alice", image_id: str = "img-1", status: Status = Status.COMPLETED) -> ImageRecord:
    now = now_iso()
    return ImageRecord(
        image_id=image_id,
        owner=owner,
        status=status,
        created_at=now,
        updated_at=now,
        object={"bucket": "images", "key": f"uploads/{image_id}.jpg", "etag": "e", "versionId": None},
        object_identity=f"images/uploads/{image_id}.jpg#e",
        features=("labels",),
        results={"labels": [{"name": "Cat", "confidence": 98.2}]} if status is Status.COMPLETED else None,
        error={"code": "IMAGE_TOO_SMALL", "message": "79x400 px"} if status is Status.FAILED else None,
    )


@dataclass
class DispatchQueues:
    """The dispatch queue and its DLQ as the local mode's provisioners created them from the templates."""

    sqs: Any
    queue_url: str
    dead_letter_url: str
    batch_size: int

    @classmethod
    def of(cls, stacks: LocalStacks) -> DispatchQueues:
        mapping = stacks.mapping(DISPATCHER_HANDLER)
        dead_letter_url, _ = stacks.redrive(mapping.queue_url)
        return cls(stacks.sqs, mapping.queue_url, dead_letter_url, mapping.batch_size)


@dataclass
class Dispatch:
    moto: DispatchQueues
    table: WebhookStore
    service: WebhookService
    stacks: LocalStacks

    @property
    def dynamodb(self) -> Any:
        return self.stacks.dynamodb

    @property
    def kms(self) -> Any:
        return self.stacks.clients["kms"]

    @property
    def table_name(self) -> str:
        return self.stacks.environment(DISPATCHER_HANDLER)["WEBHOOKS_TABLE_NAME"]

    def subscribe(self, url: str, owner: str = "alice", events: tuple[str, ...] = ("image.analyzed", "image.failed")):
        created = self.service.create(owner, url, list(events))
        return created.subscription, created.secret

    def publish(self, event: dict[str, Any]) -> None:
        self.moto.sqs.send_message(QueueUrl=self.moto.queue_url, MessageBody=json.dumps(event))

    def feed(self, wait_seconds: int = 0) -> BatchResult:
        return feed_once(self.moto.sqs, self.moto.queue_url, dispatcher.handler, self.moto.batch_size, wait_seconds)

    def drain(self, rounds: int = 40) -> list[BatchResult]:
        results = []
        for _ in range(rounds):
            result = self.feed()
            if result.received == 0:
                return results
            assert result.failed_ids == [], result.response
            results.append(result)
        raise AssertionError("the dispatch queue never drained")

    def subscription(self, webhook_id: str) -> Subscription:
        found = self.table.get_subscription(webhook_id)
        assert found is not None
        return found

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        return self.table.list_deliveries(webhook_id, 100, None).items

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.moto.sqs.receive_message(
            QueueUrl=self.moto.dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def dispatch(dev_synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dispatch]:
    with mock_aws():
        stacks = provision_for(dev_synth, DISPATCHER_HANDLER)
        environment = stacks.environment(DISPATCHER_HANDLER)
        for name, value in {**environment, **FAST_RETRIES}.items():
            monkeypatch.setenv(name, value)
        dispatcher_composition.components.cache_clear()
        queues = DispatchQueues.of(stacks)
        table = WebhookStore(stacks.dynamodb, environment["WEBHOOKS_TABLE_NAME"])
        service = stacks.webhook_service(DISPATCHER_HANDLER)
        yield Dispatch(queues, table, service, stacks)
        dispatcher_composition.components.cache_clear()


@pytest.fixture
def endpoint(dispatch: Dispatch) -> Iterator[tuple[Dispatch, Subscription, WebhookReceiver]]:
    """Alice's subscription and the receiver on loopback it points at, verifying with its secret."""
    with WebhookReceiver() as receiver:
        subscription, secret = dispatch.subscribe(receiver.url)
        receiver.trust(secret)
        yield dispatch, subscription, receiver


def test_an_endpoint_down_for_a_while_gets_the_event_exactly_once(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    # Given alice's endpoint, which answers 503 three times before it works
    dispatch, subscription, receiver = endpoint
    receiver.fail_next(3, 503)
    # When her image's event arrives (twice: SNS delivers at least once) and the queue is drained
    event = image_event()
    dispatch.publish(event)
    dispatch.publish(event)
    dispatch.drain()
    # Then the application got it once, after three refused attempts with the same webhook-id
    assert [e.type for e in receiver.events] == ["image.analyzed"]
    assert receiver.stats.scripted_failures == 3
    assert receiver.stats.rejected == 0
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert delivery["status"] == "DELIVERED"
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 503, 503, 200]
    assert [a["outcome"] for a in delivery["attempts"]] == ["retry", "retry", "retry", "delivered"]
    assert all(a["latencyMs"] >= 0 for a in delivery["attempts"])
    assert receiver.events[0].message_id == delivery["messageId"]
    payload = receiver.events[0].payload
    assert payload["version"] == "1"
    assert payload["data"]["imageId"] == "img-1"
    assert payload["data"]["results"]["labels"][0]["name"] == "Cat"
    assert "owner" not in payload["data"]


def test_a_republished_event_does_not_start_a_second_chain(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an image event whose first attempt failed (503) and waits for its retry
    dispatch, subscription, receiver = endpoint
    receiver.fail_next(1, 503)
    record = image_record()
    monkeypatch.setattr(events, "now_iso", lambda: "2026-11-22T01:00:05.000Z", raising=False)
    dispatch.publish(build_event(record))
    dispatch.feed()  # fan-out
    dispatch.feed()  # attempt 1: 503
    # When the worker publishes the same outcome again minutes later (it crashed between publish and mark)
    monkeypatch.setattr(events, "now_iso", lambda: "2026-11-22T01:07:00.000Z", raising=False)
    dispatch.publish(build_event(record))
    dispatch.drain()
    # Then there is still one delivery, one chain of attempts, and the receiver saw the retry only
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 200]
    assert receiver.stats.requests == 2
    assert len(receiver.events) == 1


def test_a_duplicate_job_is_dropped_by_the_receiver_by_its_id(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    dispatch, _subscription, receiver = endpoint
    # Given a delivery job that SQS hands out twice
    dispatch.publish(image_event())
    dispatch.feed()  # fan-out: one job
    [job] = [
        json.loads(m["Body"])
        for m in dispatch.moto.sqs.receive_message(QueueUrl=dispatch.moto.queue_url, VisibilityTimeout=0)["Messages"]
    ]
    dispatch.moto.sqs.send_message(QueueUrl=dispatch.moto.queue_url, MessageBody=json.dumps(job))
    # When both are attempted
    dispatch.drain()
    # Then the receiver saw two requests with one webhook-id and handed one event to the application
    assert receiver.stats.accepted == 1
    assert receiver.stats.duplicates == 1
    assert len(receiver.events) == 1


def test_410_disables_the_endpoint_and_says_so(endpoint: tuple[Dispatch, Subscription, WebhookReceiver]) -> None:
    # Given an endpoint that answers 410 Gone
    dispatch, subscription, receiver = endpoint
    receiver.fail_next(1, 410)
    # When an event is delivered to it
    dispatch.publish(image_event())
    dispatch.drain()
    # Then the endpoint is disabled and says why
    disabled = dispatch.subscription(subscription.webhook_id)
    assert disabled.status.value == "DISABLED"
    assert "410" in (disabled.disabled_reason or "")
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert (delivery["status"], delivery["attempts"][0]["outcome"]) == ("FAILED", "gone")
    # A later event is not even queued for it
    dispatch.publish(image_event(image_id="img-2"))
    dispatch.drain()
    assert len(dispatch.deliveries(subscription.webhook_id)) == 1
    assert receiver.events == []


def test_a_disabled_endpoint_is_announced_to_the_owners_other_endpoints_and_counted(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given alice's endpoint that answers 410 Gone, her second endpoint, and bob's endpoint
    dispatch, gone, receiver = endpoint
    with WebhookReceiver() as other, WebhookReceiver() as bobs:
        second, second_secret = dispatch.subscribe(other.url)
        other.trust(second_secret)
        _, bob_secret = dispatch.subscribe(bobs.url, owner="bob")
        bobs.trust(bob_secret)
        receiver.fail_next(1, 410)
        # When an event of hers is delivered
        dispatch.publish(image_event())
        dispatch.drain()
    # Then her other endpoint got the image event and a signed webhook.disabled naming the disabled one
    by_type = {event.type: event.payload for event in other.events}
    assert set(by_type) == {"image.analyzed", "webhook.disabled"}
    data = by_type["webhook.disabled"]["data"]
    assert (data["webhookId"], data["url"]) == (gone.webhook_id, gone.url)
    assert "410" in data["reason"]
    assert data["disabledAt"] == dispatch.subscription(gone.webhook_id).disabled_at
    # nobody else heard of it, and the disabled endpoint is not told about itself
    assert bobs.events == []
    assert [e.type for e in receiver.events] == []
    assert second.webhook_id != gone.webhook_id
    # and both bodies are what the OpenAPI document publishes
    for payload in by_type.values():
        assert_published(payload)
    # And the metric the alarm watches was emitted once
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "WebhookEndpointsDisabled" in line]
    metrics = [m for m in emitted if "_aws" in m]
    assert [m["WebhookEndpointsDisabled"] for m in metrics] == [[1.0]]
    assert metrics[0]["service"] == "webhook-dispatcher"


def test_what_endpoints_receive_is_what_the_openapi_document_publishes(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    # Given alice's endpoint, When an analysed image, a failed one and a test event are delivered
    dispatch, subscription, receiver = endpoint
    dispatch.publish(image_event(image_id="img-ok"))
    dispatch.publish(image_event(image_id="img-bad", status=Status.FAILED))
    dispatch.service.send_test("alice", subscription.webhook_id)
    dispatch.drain()
    # Then every body received validates against its event type's schema
    received = {event.type: event.payload for event in receiver.events}
    assert set(received) == {"image.analyzed", "image.failed", "webhook.test"}
    for payload in received.values():
        assert_published(payload)
    # and the schemas are strict enough to fail: an unknown field, a wrong status, a missing id
    analyzed = received["image.analyzed"]
    for broken in (
        {**analyzed, "owner": "alice"},
        {**analyzed, "data": {**analyzed["data"], "status": "FAILED"}},
        {**analyzed, "data": {k: v for k, v in analyzed["data"].items() if k != "imageId"}},
    ):
        with pytest.raises(ValidationError):
            assert_published(broken)


def test_another_4xx_fails_that_delivery_without_retry(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    # Given an endpoint that answers 400 once
    dispatch, subscription, receiver = endpoint
    receiver.fail_next(1, 400)
    # When an event is delivered to it
    dispatch.publish(image_event())
    dispatch.drain()
    # Then that delivery failed after one attempt, and the endpoint stays active
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert delivery["status"] == "FAILED"
    assert [a["statusCode"] for a in delivery["attempts"]] == [400]
    assert dispatch.subscription(subscription.webhook_id).active
    assert receiver.stats.requests == 1


def test_429_with_retry_after_waits_before_the_next_attempt(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    dispatch, subscription, receiver = endpoint
    # Given an endpoint that asks for two seconds of quiet
    receiver.fail_next(1, 429, {"Retry-After": "2"})
    dispatch.publish(image_event())
    dispatch.feed()  # fan-out
    dispatch.feed()  # first attempt: 429
    # Then the next attempt is scheduled no sooner than asked, and the job is not receivable before
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert delivery["status"] == "RETRYING"
    attempted = datetime.fromisoformat(delivery["attempts"][0]["at"])
    due = datetime.fromisoformat(delivery["nextAttemptAt"])
    assert (due - attempted).total_seconds() >= 2
    assert dispatch.feed().received == 0
    # When it is due, the delivery succeeds
    deadline = time.monotonic() + 10
    while not receiver.events and time.monotonic() < deadline:
        dispatch.feed(wait_seconds=1)
    assert len(receiver.events) == 1
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert [a["statusCode"] for a in delivery["attempts"]] == [429, 200]


def test_a_failing_endpoint_does_not_hold_back_the_others_and_ends_in_the_dlq(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatch, _healthy, receiver = endpoint
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", "3")
    dispatcher_composition.components.cache_clear()
    # Given a second endpoint of alice's that is always down (nothing listens on the port)
    broken, _ = dispatch.subscribe("http://127.0.0.1:9/down")
    # When one event is dispatched
    dispatch.publish(image_event())
    dispatch.feed()  # fan-out: a job per endpoint
    dispatch.feed()  # one attempt each
    # Then the healthy endpoint has it already, while the other one waits for its retry
    assert len(receiver.events) == 1
    dispatch.drain()
    [failed] = dispatch.deliveries(broken.webhook_id)
    assert failed["status"] == "FAILED"
    assert [a["outcome"] for a in failed["attempts"]] == ["retry", "retry", "retry"]
    assert all(a["statusCode"] is None and a["error"] for a in failed["attempts"])
    # told as a failure class, not as the socket's own text (no port scanner's report)
    assert {(a["failure"], a["error"]) for a in failed["attempts"]} == {("refused", "the connection was refused")}
    # and after the last attempt the job rests in the dead-letter queue, same webhook-id
    [dead] = dispatch.dead_letters()
    assert (dead["webhookId"], dead["messageId"]) == (broken.webhook_id, failed["messageId"])
    assert dispatch.subscription(broken.webhook_id).failing_since is not None


def test_redrive_replays_dead_letters_with_a_fresh_window(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatch, subscription, receiver = endpoint
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", "2")
    dispatcher_composition.components.cache_clear()
    receiver.fail_next(2, 500)
    dispatch.publish(image_event())
    dispatch.drain()
    assert receiver.events == []
    # When the operator redrives the DLQ (make redrive) once the endpoint is fixed
    queue = SqsJobQueue(dispatch.moto.sqs, dispatch.moto.queue_url, dispatch.moto.dead_letter_url)
    assert queue.redrive(time.time()) == 1
    dispatch.drain()
    # Then the event arrives, under the webhook-id it always had
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert [e.message_id for e in receiver.events] == [delivery["messageId"]]
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["status"] == "DELIVERED"
    assert dispatch.subscription(subscription.webhook_id).failing_since is None


def test_an_endpoint_failing_for_days_is_disabled(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    dispatch, subscription, receiver = endpoint
    # Given an endpoint whose attempts have all failed for six days
    dispatch.table.note_failure(subscription.webhook_id, time.time() - 6 * DAY)
    receiver.fail_next(1, 503)
    # When one more attempt fails
    dispatch.publish(image_event())
    dispatch.feed()
    dispatch.feed()
    # Then the endpoint is disabled, saying since when it failed
    disabled = dispatch.subscription(subscription.webhook_id)
    assert disabled.status.value == "DISABLED"
    assert "every attempt failed since" in (disabled.disabled_reason or "")
    # and the pending retry is dropped, not sent
    dispatch.drain()
    assert receiver.stats.requests == 1


def test_only_the_owners_images_reach_a_subscription(endpoint: tuple[Dispatch, Subscription, WebhookReceiver]) -> None:
    # Given alice's endpoint, When bob's image and then alice's (failed) image finish
    dispatch, _subscription, receiver = endpoint
    dispatch.publish(image_event(owner="bob", image_id="bobs"))
    dispatch.publish(image_event(owner="alice", image_id="alices", status=Status.FAILED))
    dispatch.drain()
    # Then only alice's event reaches it, with the error instead of results
    assert [(e.type, e.payload["data"]["imageId"]) for e in receiver.events] == [("image.failed", "alices")]
    assert receiver.events[0].payload["data"]["error"]["code"] == "IMAGE_TOO_SMALL"


def test_a_subscription_gets_only_the_event_types_it_asked_for(dispatch: Dispatch) -> None:
    # Given a subscription to failures only, When an image is analysed, Then nothing is queued for it
    subscription, _secret = dispatch.subscribe("http://127.0.0.1:9/x", events=("image.failed",))
    dispatch.publish(image_event())
    dispatch.drain()
    assert dispatch.deliveries(subscription.webhook_id) == []


def test_after_a_rotation_both_secrets_verify_for_a_day(dispatch: Dispatch) -> None:
    with WebhookReceiver() as receiver:
        # Given a webhook whose secret was just rotated
        subscription, old_secret = dispatch.subscribe(receiver.url)
        receiver.trust(old_secret)
        rotated = dispatch.service.rotate_secret("alice", subscription.webhook_id)
        captured: list[tuple[bytes, dict[str, str]]] = []
        original = receiver.receive

        def capture(body: bytes, headers: dict[str, str]) -> Any:
            captured.append((body, headers))
            return original(body, headers)

        receiver.receive = capture  # type: ignore[method-assign]
        # When an event is delivered
        dispatch.publish(image_event())
        dispatch.drain()
    # Then it carries two signatures, and either secret verifies it
    [(body, headers)] = captured
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(rotated.secret).verify(body, headers)["type"] == "image.analyzed"
    assert Webhook(old_secret).verify(body, headers)["type"] == "image.analyzed"
    assert len(receiver.events) == 1


def test_a_rotation_that_expires_the_previous_secret_signs_with_the_new_one_only(dispatch: Dispatch) -> None:
    with WebhookReceiver() as receiver:
        # Given a webhook whose leaked secret was rotated out at once
        subscription, _ = dispatch.subscribe(receiver.url)
        rotated = dispatch.service.rotate_secret("alice", subscription.webhook_id, expire_previous=True)
        receiver.trust(rotated.secret)
        # When an event is delivered, Then one signature, by the new secret, is all it carries
        dispatch.publish(image_event())
        dispatch.drain()
    [event] = receiver.events
    assert event.type == "image.analyzed"
    assert len(dispatch.subscription(subscription.webhook_id).secrets) == 1


def _blobs(value: Any) -> list[bytes]:
    """Every string and binary in a DynamoDB attribute value, as bytes (base64 strings decoded too)."""
    if isinstance(value, dict):
        return [blob for inner in value.values() for blob in _blobs(inner)]
    if isinstance(value, list):
        return [blob for inner in value for blob in _blobs(inner)]
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, str):
        try:
            return [value.encode(), base64.b64decode(value, validate=True)]
        except ValueError:
            return [value.encode()]
    return []


def test_the_table_and_its_index_hold_nothing_a_thief_could_sign_with(
    dispatch: Dispatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as receiver:
        # Given webhooks created, rotated and delivered to (every path that writes a secret)
        created = [dispatch.subscribe(receiver.url, owner=owner) for owner in ("alice", "bob")]
        secrets = [secret for _, secret in created]
        secrets.append(dispatch.service.rotate_secret("alice", created[0][0].webhook_id).secret)
        dispatch.publish(image_event())
        dispatch.drain()
    # When the whole table is scanned (what a backup, an export or a reader of the table gets)
    items = [
        item
        for page in dispatch.dynamodb.get_paginator("scan").paginate(TableName=dispatch.table_name)
        for item in page["Items"]
    ]
    blobs = [blob for item in items for blob in _blobs(item)]
    # Then no whsec_ value, no secret's base64 text and no raw key bytes are anywhere in it
    keys = [base64.b64decode(secret.removeprefix("whsec_")) for secret in secrets]
    assert not [blob for blob in blobs if b"whsec_" in blob]
    assert not [blob for blob in blobs for secret in secrets if secret.removeprefix("whsec_").encode() in blob]
    assert not [blob for blob in blobs for key in keys if key in blob]
    # but the KMS ciphertexts are (a positive control: they open with the key and the right context only)
    sealed = {
        item["webhookId"]["S"]: [s["M"]["sealed"]["S"] for s in item["secrets"]["L"]]
        for item in items
        if "secrets" in item
    }
    assert sorted(len(values) for values in sealed.values()) == [1, 2]
    alice = created[0][0]
    opened = dispatch.kms.decrypt(
        CiphertextBlob=base64.b64decode(sealed[alice.webhook_id][0]),
        EncryptionContext={"webhookId": alice.webhook_id, "owner": "alice"},
    )["Plaintext"]
    assert opened.decode() == secrets[2]
    with pytest.raises(ClientError, match="InvalidCiphertext"):
        dispatch.kms.decrypt(
            CiphertextBlob=base64.b64decode(sealed[alice.webhook_id][0]),
            EncryptionContext={"webhookId": created[1][0].webhook_id, "owner": "bob"},
        )
    # And the owner index, queried as the listing does, carries no secrets at all
    listed = dispatch.dynamodb.query(
        TableName=dispatch.table_name,
        IndexName="ByOwnerListing",
        KeyConditionExpression="gsi1pk = :owner",
        ExpressionAttributeValues={":owner": {"S": "OWNER#alice"}},
    )["Items"]
    assert [item["webhookId"]["S"] for item in listed] == [alice.webhook_id]
    assert "secrets" not in listed[0]
    # Nor did the dispatcher's logs (and metrics) show a secret while it signed
    logged = capsys.readouterr()
    assert '"WebhookAttempts"' in logged.out  # a positive control: what the dispatcher printed was captured
    assert not [secret for secret in secrets if secret in logged.out + logged.err]
    assert "whsec_" not in logged.out + logged.err


LEGACY_SECRET = "whsec_" + base64.b64encode(b"a secret of the first release, 32b").decode()


def _as_the_first_release_wrote_it(dispatch: Dispatch, webhook_id: str) -> None:
    """The subscription's secret stored plain, as before secrets were sealed (no secretsVersion either)."""
    dispatch.dynamodb.update_item(
        TableName=dispatch.table_name,
        Key={"pk": {"S": f"WEBHOOK#{webhook_id}"}, "sk": {"S": "WEBHOOK"}},
        UpdateExpression="SET secrets = :plain REMOVE secretsVersion",
        ExpressionAttributeValues={":plain": {"L": [{"M": {"value": {"S": LEGACY_SECRET}}}]}},
    )


def test_make_seal_secrets_seals_what_the_first_release_stored_plain_and_receivers_notice_nothing(
    dispatch: Dispatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebhookReceiver() as receiver:
        # Given a webhook whose secret an older release stored plain, and its receiver trusting that secret
        subscription, _ = dispatch.subscribe(receiver.url)
        _as_the_first_release_wrote_it(dispatch, subscription.webhook_id)
        receiver.trust(LEGACY_SECRET)
        # When an event comes before the secrets are sealed, Then it is still delivered, signed with it
        dispatch.publish(image_event(image_id="img-before"))
        dispatch.drain()
        # When the operator runs make seal-secrets (once; then again)
        outputs = tmp_path / "cdk-outputs-dev.json"
        environment = dispatch.stacks.environment(DISPATCHER_HANDLER)
        outputs.write_text(
            json.dumps(
                {
                    "ImagePipeline-dev-Data": {"WebhooksTableName": dispatch.table_name},
                    "ImagePipeline-dev-Integration": {"WebhookSecretsKeyArn": environment["WEBHOOK_SECRETS_KEY_ARN"]},
                }
            )
        )
        assert seal_secrets_main(["--outputs", str(outputs)]) == 0
        assert seal_secrets_main(["--outputs", str(outputs)]) == 0
        # Then the same secret is stored sealed (it opens with the key and the webhook's context only), a scan
        # of the table finds it nowhere in the clear, and receivers go on verifying with it
        items = dispatch.dynamodb.scan(TableName=dispatch.table_name)["Items"]
        assert not [blob for item in items for blob in _blobs(item) if LEGACY_SECRET.encode() in blob]
        [stored] = dispatch.subscription(subscription.webhook_id).secrets
        opened = dispatch.kms.decrypt(
            CiphertextBlob=base64.b64decode(stored.value),
            EncryptionContext={"webhookId": subscription.webhook_id, "owner": "alice"},
        )["Plaintext"]
        assert (stored.sealed, opened.decode()) == (True, LEGACY_SECRET)
        dispatch.publish(image_event(image_id="img-after"))
        dispatch.drain()
    assert sorted(e.payload["data"]["imageId"] for e in receiver.events) == ["img-after", "img-before"]
    printed = capsys.readouterr().out
    assert "sealed 1 plain secret(s) of 1" in printed
    assert "sealed 0 plain secret(s) of 0" in printed  # the second run found nothing to do


def test_sealing_never_overwrites_a_rotation_that_lands_in_between(dispatch: Dispatch) -> None:
    subscription, _ = dispatch.subscribe("http://127.0.0.1:9/hook")
    _as_the_first_release_wrote_it(dispatch, subscription.webhook_id)
    rotations: list[str] = []

    class RotatedInBetween:
        """The table; the owner rotates the secret right after the sealing read the item, before it writes."""

        def __getattr__(self, name: str) -> Any:
            return getattr(dispatch.table, name)

        def replace_secrets(self, webhook_id: str, secrets: Any, read_version: int) -> bool:
            if not rotations:
                rotations.append(dispatch.service.rotate_secret("alice", webhook_id).secret)
            return dispatch.table.replace_secrets(webhook_id, secrets, read_version)

    sealer = KmsSecrets(dispatch.kms, dispatch.stacks.environment(DISPATCHER_HANDLER)["WEBHOOK_SECRETS_KEY_ARN"])
    report = seal_plain_secrets(RotatedInBetween(), sealer)
    # Then the rotation's new secret stays current, and the plain one it kept as previous is sealed (by the
    # rotation itself: the sealing's write was refused, it read the item again and found nothing plain)
    current, previous = dispatch.subscription(subscription.webhook_id).secrets
    context = {"webhookId": subscription.webhook_id, "owner": "alice"}
    plain = [
        dispatch.kms.decrypt(CiphertextBlob=base64.b64decode(s.value), EncryptionContext=context)["Plaintext"].decode()
        for s in (current, previous)
    ]
    assert (current.sealed, previous.sealed, plain) == (True, True, [rotations[0], LEGACY_SECRET])
    assert (report.subscriptions, report.sealed) == (1, 0)


def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    dispatch: Dispatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a subscription registered while its name resolved to a public address
    from image_pipeline.webhooks.domain import targets

    monkeypatch.setattr(targets.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))])
    dispatch.service._policy = TargetPolicy()  # as in AWS: https only, no exception
    subscription, _ = dispatch.subscribe("https://hooks.example.com/in")
    # When the name now answers with the metadata service's address (DNS rebinding)
    monkeypatch.setattr(targets.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("169.254.169.254", 443))])
    dispatch.publish(image_event())
    dispatch.drain()
    # Then nothing was sent and the refusal is recorded (no retry)
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert delivery["status"] == "FAILED"
    [attempt] = delivery["attempts"]
    assert attempt["outcome"] == "refused"
    assert "169.254.169.254" in attempt["error"]


def test_the_environments_fixed_endpoint_gets_every_owners_events(
    dispatch: Dispatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the environment's own endpoint from config, its secret in Secrets Manager
    secret_value = "Abcdefghijklmnopqrstuvwxyz012345"  # 32 letters and digits, as Secrets Manager generates
    receiver = WebhookReceiver("whsec_" + secret_value).start()
    try:
        arn = boto3.client("secretsmanager").create_secret(Name="endpoint", SecretString=secret_value)["ARN"]
        monkeypatch.setenv("FIXED_ENDPOINT_URL", receiver.url)
        monkeypatch.setenv("FIXED_ENDPOINT_SECRET_ARN", arn)
        dispatcher_composition.components.cache_clear()
        # When two owners' images finish
        dispatch.publish(image_event(owner="alice", image_id="a"))
        dispatch.publish(image_event(owner="bob", image_id="b"))
        dispatch.drain()
        # Then it verified and received both
        assert sorted(e.payload["data"]["imageId"] for e in receiver.events) == ["a", "b"]
        assert receiver.stats.rejected == 0
    finally:
        receiver.stop()


def test_a_name_that_fails_to_resolve_for_a_while_is_retried(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a subscription by host name (faked DNS: the name stands for the loopback receiver)
    dispatch, _alices_receiver_subscription, receiver = endpoint
    from image_pipeline.webhooks.domain import targets

    answers: list[Any] = [[(2, 1, 6, "", ("127.0.0.1", receiver.port))]]
    real_getaddrinfo = targets.socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        # Only the subscribed name is faked: other lookups in the process (clients of the emulator) are real.
        if host != "hooks.example.com":
            return real_getaddrinfo(host, *args, **kwargs)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(targets.socket, "getaddrinfo", resolve)
    by_name, secret = dispatch.subscribe(f"http://hooks.example.com:{receiver.port}/webhook", events=("image.failed",))
    receiver.trust(secret)
    # When the DNS fails (a resolver time-out) at the first attempt, then answers again
    answers[:] = [OSError(-3, "Temporary failure in name resolution"), [(2, 1, 6, "", ("127.0.0.1", receiver.port))]]
    dispatch.publish(image_event(status=Status.FAILED))
    dispatch.drain()
    # Then the failed lookup was retried like a connection failure, and the event arrived
    [delivery] = dispatch.deliveries(by_name.webhook_id)
    assert [a["outcome"] for a in delivery["attempts"]] == ["retry", "delivered"]
    assert "resolve" in delivery["attempts"][0]["error"]
    assert delivery["status"] == "DELIVERED"


def test_a_large_result_reaches_the_receiver_as_a_link_to_exactly_the_stored_json(
    endpoint: tuple[Dispatch, Subscription, WebhookReceiver],
) -> None:
    # Given an image whose result is too large for its event: the worker wrote it to its document
    dispatch, subscription, receiver = endpoint
    bucket = dispatch.stacks.environment(DISPATCHER_HANDLER)["RESULTS_BUCKET_NAME"]
    instances = [{"boundingBox": {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}, "confidence": 91.0}] * 3000
    large = {"labels": [{"name": "Starling", "confidence": 91.0, "parents": [], "instances": instances}]}
    record = replace(image_record(image_id="flock-1"), results=large)
    event = build_event(record, S3ResultDocuments(dispatch.stacks.s3, bucket))
    # When its event is delivered (after one refused attempt)
    receiver.fail_next(1, 503)
    dispatch.publish(event)
    dispatch.drain()
    # Then the receiver got a signed body with a link instead of the results, valid for the configured hour
    [received] = receiver.events
    data = received.payload["data"]
    assert data["resultsOmitted"] is True
    assert "results" not in data
    assert "resultsRef" not in data
    expires = datetime.fromisoformat(data["resultsUrlExpiresAt"]).timestamp()
    assert 3590 <= expires - time.time() <= 3600
    assert_published(received.payload)
    # signed with Signature Version 4, for the configured lifetime (botocore's default for S3 is SigV2)
    query = parse_qs(urlsplit(data["resultsUrl"]).query)
    assert (query["X-Amz-Algorithm"], query["X-Amz-Expires"]) == (["AWS4-HMAC-SHA256"], ["3600"])
    # and the link, with no token, fetches exactly the stored JSON
    fetched = requests.get(data["resultsUrl"], timeout=5)
    assert fetched.status_code == 200
    assert fetched.json() == large
    stored = dispatch.stacks.s3.get_object(Bucket=bucket, Key="results/alice/flock-1.json")["Body"].read()
    assert fetched.content == stored
    [delivery] = dispatch.deliveries(subscription.webhook_id)
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 200]
