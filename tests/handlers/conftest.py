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

from image_pipeline.adapters.dynamo import from_item
from image_pipeline.handlers import worker
from tests.support.fake_rekognition import FAKE_ENDPOINT, FakeRekognition
from tests.support.lambda_sqs import BatchResult, feed_once
from tests.support.moto_pipeline import MotoPipeline, provision
from tests.support.synth import Synthesized, synthesize


@pytest.fixture(scope="session")
def dev_synth() -> Synthesized:
    return synthesize("dev")


@dataclass
class Harness:
    pipeline: MotoPipeline
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
        pipeline = provision(dev_synth)
        for name, value in pipeline.worker_environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", FAKE_ENDPOINT)
        fake = FakeRekognition()
        real_client = worker.rekognition_client
        monkeypatch.setattr(worker, "rekognition_client", lambda settings: fake.attach(real_client(settings)))
        worker.worker.cache_clear()
        harness = Harness(pipeline, fake)
        # moto, like S3, sends an s3:TestEvent when the notification is configured: the worker skips it.
        assert harness.drain()[0].failed_ids == []
        yield harness
        worker.worker.cache_clear()
