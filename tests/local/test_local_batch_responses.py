"""Which messages the local event source mapping deletes after an invocation (as Lambda decides)."""

from __future__ import annotations

from typing import Any

import pytest

from local.functions.runtime import InvokeResult
from local.functions.sqs_poller import lambda_record, succeeded_messages

MESSAGES = [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}", "MD5OfBody": "x"} for i in range(3)]


def ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["MessageId"] for m in messages]


@pytest.mark.parametrize("payload", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_empty_or_absent_failure_lists_mean_the_whole_batch_succeeded(payload: Any) -> None:
    assert ids(succeeded_messages(MESSAGES, InvokeResult(payload=payload), True)) == ["m0", "m1", "m2"]


def test_only_the_reported_failures_stay_on_the_queue() -> None:
    result = InvokeResult(payload={"batchItemFailures": [{"itemIdentifier": "m1"}]})
    assert ids(succeeded_messages(MESSAGES, result, True)) == ["m0", "m2"]


@pytest.mark.parametrize(
    "failures",
    [[{"itemIdentifier": "unknown"}], [{"itemIdentifier": ""}], [{"itemIdentifier": None}], [{"id": "m1"}], "m1"],
)
def test_a_malformed_failure_report_fails_the_whole_batch(failures: Any) -> None:
    assert succeeded_messages(MESSAGES, InvokeResult(payload={"batchItemFailures": failures}), True) == []


def test_a_function_error_fails_the_whole_batch() -> None:
    failed = InvokeResult(error={"errorType": "RuntimeError", "errorMessage": "boom"})
    assert succeeded_messages(MESSAGES, failed, True) == []
    assert succeeded_messages(MESSAGES, failed, False) == []


def test_without_report_batch_item_failures_the_response_is_not_read() -> None:
    result = InvokeResult(payload={"batchItemFailures": [{"itemIdentifier": "m1"}]})
    assert ids(succeeded_messages(MESSAGES, result, False)) == ["m0", "m1", "m2"]


def test_records_have_lambdas_shape() -> None:
    message = {
        "MessageId": "m0",
        "ReceiptHandle": "r0",
        "Body": "hello",
        "MD5OfBody": "5d41",
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MessageAttributes": {"kind": {"StringValue": "a", "DataType": "String"}},
    }
    record = lambda_record(message, "arn:aws:sqs:us-east-1:1:q", "us-east-1")
    assert record == {
        "messageId": "m0",
        "receiptHandle": "r0",
        "body": "hello",
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {
            "kind": {
                "stringValue": "a",
                "binaryValue": None,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": "5d41",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
        "awsRegion": "us-east-1",
    }
