"""The real worker handler against moto; Rekognition answered by a fake at the HTTP layer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws
from moto.core.models import botocore_stubber

from image_pipeline.recognition import composition as worker_composition
from image_pipeline.recognition import handler as worker
from image_pipeline.shared.dynamo import from_item
from tests.support.fake_rekognition import FAKE_ENDPOINT, FakeRekognition
from tests.support.lambda_sqs import BatchResult, feed_once
from tests.support.local_stacks import LocalStacks, provision_for
from tests.support.synth import Synthesized, synthesize

WORKER_HANDLER = "image_pipeline.handlers.worker.handler"
BACKFILL_HANDLER = "image_pipeline.handlers.backfill.handler"


@pytest.fixture(scope="session")
def dev_synth() -> Synthesized:
    return synthesize("dev")


@dataclass
class Pipeline:
    """The recognition pipeline as the local mode's provisioners created it from the templates, by role."""

    stacks: LocalStacks
    worker_environment: dict[str, str]
    bucket: str
    table: str
    queue_url: str
    dead_letter_url: str
    batch_size: int
    max_receive_count: int
    events_queue_url: str  # subscribed to the events topic, for assertions
    s3: Any
    sqs: Any
    dynamodb: Any


def pipeline(synth: Synthesized) -> Pipeline:
    stacks = provision_for(synth, WORKER_HANDLER, BACKFILL_HANDLER)
    environment = stacks.environment(WORKER_HANDLER)
    mapping = stacks.mapping(WORKER_HANDLER)
    dead_letter_url, max_receive_count = stacks.redrive(mapping.queue_url)
    events_queue_url = stacks.sqs.create_queue(QueueName="events-probe")["QueueUrl"]
    events_queue_arn = stacks.sqs.get_queue_attributes(QueueUrl=events_queue_url, AttributeNames=["QueueArn"])
    stacks.sns.subscribe(
        TopicArn=environment["EVENTS_TOPIC_ARN"],
        Protocol="sqs",
        Endpoint=events_queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return Pipeline(
        stacks=stacks,
        worker_environment=environment,
        bucket=stacks.property_of("Custom::S3BucketNotifications", "BucketName"),
        table=environment["TABLE_NAME"],
        queue_url=mapping.queue_url,
        dead_letter_url=dead_letter_url,
        batch_size=mapping.batch_size,
        max_receive_count=max_receive_count,
        events_queue_url=events_queue_url,
        s3=stacks.s3,
        sqs=stacks.sqs,
        dynamodb=stacks.dynamodb,
    )


@dataclass
class Harness:
    pipeline: Pipeline
    rekognition: FakeRekognition

    def upload(self, key: str, body: bytes, **metadata: str) -> None:
        self.pipeline.s3.put_object(Bucket=self.pipeline.bucket, Key=key, Body=body, Metadata=metadata)

    def feed(self) -> BatchResult:
        return feed_once(
            self.pipeline.sqs, self.pipeline.queue_url, worker.handler, self.pipeline.batch_size, wait_seconds=0
        )

    def expire_visibility(self, batch: BatchResult) -> None:
        """What the visibility timeout does, at once: failed records become receivable again."""
        for receipt in batch.failed_receipts:
            self.pipeline.sqs.change_message_visibility(
                QueueUrl=self.pipeline.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
            )

    def drain(self) -> list[BatchResult]:
        """Feed until the queue is empty; failed records come back at once (up to maxReceiveCount)."""
        results = []
        for _ in range(20):
            result = self.feed()
            if result.received == 0:
                return results
            results.append(result)
            self.expire_visibility(result)
        raise AssertionError("queue never drained")

    def receive_raw(self) -> list[dict[str, Any]]:
        response = self.pipeline.sqs.receive_message(
            QueueUrl=self.pipeline.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return list(response.get("Messages", []))

    def items(self, sk_prefix: str = "") -> list[dict[str, Any]]:
        items = self.pipeline.dynamodb.scan(TableName=self.pipeline.table)["Items"]
        return [from_item(i) for i in items if i["sk"]["S"].startswith(sk_prefix)]

    def images(self) -> list[dict[str, Any]]:
        return self.items("IMAGE")

    def only_image(self) -> dict[str, Any]:
        images = self.images()
        assert len(images) == 1, images
        return images[0]

    def events(self) -> list[dict[str, Any]]:
        messages = self.pipeline.sqs.receive_message(
            QueueUrl=self.pipeline.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


def serialise_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """One request at a time inside moto's in-process backends, as the real services serialise their own state.

    moto's DynamoDB deep-copies a table in transact_write_items while another thread may write to it
    ("dictionary changed size during iteration"); the worker analyses images concurrently, so without
    this about one run in four failed a record that real DynamoDB would have accepted.
    """
    lock = threading.Lock()
    process = botocore_stubber.process_request

    def serialised(request: Any) -> Any:
        with lock:
            return process(request)

    monkeypatch.setattr(botocore_stubber, "process_request", serialised)


@pytest.fixture
def harness(dev_synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    serialise_moto(monkeypatch)
    with mock_aws():
        provisioned = pipeline(dev_synth)
        for name, value in provisioned.worker_environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", FAKE_ENDPOINT)
        fake = FakeRekognition()
        real_client = worker_composition.rekognition_client
        monkeypatch.setattr(
            worker_composition, "rekognition_client", lambda settings: fake.attach(real_client(settings))
        )
        worker_composition.components.cache_clear()
        harness = Harness(provisioned, fake)
        # moto, like S3, sends an s3:TestEvent when the notification is configured: the worker skips it.
        assert harness.drain()[0].failed_ids == []
        yield harness
        worker_composition.components.cache_clear()
