"""Feeds an SQS queue to a handler the way Lambda's event source mapping does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.functions.sqs_poller import lambda_record


@dataclass
class LambdaContext:
    function_name: str = "worker"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:worker"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@dataclass
class BatchResult:
    received: int
    failed_ids: list[str]
    response: dict[str, Any]
    failed_receipts: list[str] = field(default_factory=list)


def queue_arn_of(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [lambda_record(m, queue_arn, "us-east-1") for m in messages]}


def feed_once(
    sqs: Any, queue_url: str, handler: Callable[[dict[str, Any], Any], Any], batch_size: int, wait_seconds: int = 1
) -> BatchResult:
    """Receive up to a batch, invoke, delete what succeeded, leave the failures to their visibility timeout."""
    queue_arn = queue_arn_of(sqs, queue_url)
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch_size,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not messages:
        return BatchResult(0, [], {})
    response = handler(sqs_event(messages, queue_arn), LambdaContext()) or {}
    failed = [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]
    done = [m for m in messages if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    receipts = [m["ReceiptHandle"] for m in messages if m["MessageId"] in failed]
    return BatchResult(len(messages), failed, response, receipts)
