"""The local event source mapping against moto's SQS: batching, deletes, visibility and the DLQ."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.console import Console
from local.emulator import Activity
from local.functions.runtime import InvokeResult
from local.functions.sqs_poller import MappingSpec, SqsPoller


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_queues(sqs: Any, max_receive_count: int = 2) -> tuple[str, str, str]:
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    queue = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue, arn, dlq


class Recorder:
    def __init__(self, fail: set[str] | None = None, crash: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail or set()
        self.crash = crash

    def __call__(self, event: dict[str, Any]) -> InvokeResult:
        self.events.append(event)
        if self.crash:
            return InvokeResult(error={"errorType": "RuntimeError", "errorMessage": "boom"})
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.fail]
        return InvokeResult(payload={"batchItemFailures": failures})


def poller(sqs: Any, queue: str, arn: str, invoke: Recorder, batch_size: int = 10, window: float = 0.0) -> SqsPoller:
    spec = MappingSpec(
        name="worker",
        queue_url=queue,
        queue_arn=arn,
        region="us-east-1",
        batch_size=batch_size,
        batching_window_seconds=window,
        report_batch_item_failures=True,
    )
    return SqsPoller(spec, sqs, invoke, Console(), idle_interval=0.01, long_poll_seconds=0.2)


def send(sqs: Any, queue: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)


def visible(sqs: Any, queue: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def expire_visibility(sqs: Any, queue: str, invoke: Recorder) -> None:
    """What waiting out the visibility timeout does to the last invocation's records, at once."""
    for record in invoke.events[-1]["Records"]:
        with contextlib.suppress(sqs.exceptions.ReceiptHandleIsInvalid):  # deleted records
            sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0)


def test_a_batch_holds_up_to_batch_size_records_in_lambdas_shape(sqs: Any) -> None:
    queue, arn, _ = make_queues(sqs)
    send(sqs, queue, *[f"m{i}" for i in range(5)])
    invoke = Recorder()
    # When the mapping polls with a batch size of 3
    handed = poller(sqs, queue, arn, invoke, batch_size=3).poll_once()
    # Then the function got 3 records from this queue, and they are gone
    assert handed == 3
    records = invoke.events[0]["Records"]
    assert len(records) == 3
    assert {r["eventSource"] for r in records} == {"aws:sqs"}
    assert {r["eventSourceARN"] for r in records} == {arn}
    assert records[0]["attributes"]["ApproximateReceiveCount"] == "1"
    assert visible(sqs, queue) == 2


def test_the_batching_window_gathers_more_than_one_receive(sqs: Any) -> None:
    queue, arn, _ = make_queues(sqs)
    send(sqs, queue, *[f"m{i}" for i in range(15)])
    invoke = Recorder()
    # When the batch size exceeds what one receive returns (10) and a window is set
    poller(sqs, queue, arn, invoke, batch_size=15, window=0.5).poll_once()
    # Then one invocation gets all 15
    assert len(invoke.events[0]["Records"]) == 15


def test_reported_failures_stay_and_reach_the_dlq_after_max_receive_count(sqs: Any) -> None:
    queue, arn, dlq = make_queues(sqs, max_receive_count=2)
    send(sqs, queue, "good", "poison")
    invoke = Recorder(fail={"poison"})
    mapping = poller(sqs, queue, arn, invoke)
    # When the function reports the poison record as failed, twice (its visibility expiring in between)
    mapping.poll_once()
    assert visible(sqs, queue) == 0  # the failure is invisible until its timeout expires
    expire_visibility(sqs, queue, invoke)
    mapping.poll_once()
    expire_visibility(sqs, queue, invoke)
    # Then the good record was deleted after the first call, and the poison one moved to the DLQ on its third receive
    assert [[r["body"] for r in e["Records"]] for e in invoke.events] == [["good", "poison"], ["poison"]]
    assert mapping.poll_once() == 0
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


def test_a_failed_invocation_deletes_nothing(sqs: Any) -> None:
    queue, arn, _ = make_queues(sqs)
    send(sqs, queue, "a", "b")
    # When the function raises
    invoke = Recorder(crash=True)
    poller(sqs, queue, arn, invoke).poll_once()
    expire_visibility(sqs, queue, invoke)
    # Then both records come back
    assert visible(sqs, queue) == 2


def test_started_pollers_feed_the_function_until_stopped(sqs: Any) -> None:
    queue, arn, _ = make_queues(sqs)
    invoke = Recorder()
    mapping = poller(sqs, queue, arn, invoke)
    mapping.start()
    try:
        send(sqs, queue, "late")
        deadline = time.monotonic() + 30  # a bound for a loaded machine, not a timing assertion
        while not invoke.events and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        mapping.stop()
    assert [r["body"] for e in invoke.events for r in e["Records"]] == ["late"]


class WatchedSqs:
    """The SQS client, telling when a receive has been answered."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.received = threading.Event()

    def receive_message(self, **arguments: Any) -> Any:
        answer = self._sqs.receive_message(**arguments)
        self.received.set()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)


def test_an_idle_poller_is_woken_by_activity_instead_of_its_interval(sqs: Any) -> None:
    # Given an idle poller whose own interval is far longer than the test may take
    queue, arn, _ = make_queues(sqs)
    activity = Activity()
    invoke = Recorder()
    spec = MappingSpec(name="worker", queue_url=queue, queue_arn=arn, region="us-east-1", max_concurrency=1)
    watched = WatchedSqs(sqs)
    mapping = SqsPoller(spec, watched, invoke, Console(), idle_interval=60, activity=activity)
    mapping.start()
    try:
        assert watched.received.wait(30)  # it found the queue empty: from now on it waits
        # When a message is sent and the emulator reports the request
        send(sqs, queue, "wake up")
        activity.touch()
        deadline = time.monotonic() + 10
        while not invoke.events and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        mapping.stop()
    # Then the poller received it at once
    assert [r["body"] for e in invoke.events for r in e["Records"]] == ["wake up"]
