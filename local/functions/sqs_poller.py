"""An SQS event source mapping, fed the way Lambda feeds it.

- Pollers (``MaximumConcurrency`` of them, so as many invocations at once) receive up to
  ``BatchSize`` messages, waiting up to ``MaximumBatchingWindowInSeconds`` to fill a batch.
- The function gets a real-shaped SQS event and a Lambda context.
- A successful invocation deletes its messages; with ``ReportBatchItemFailures`` only those not
  named in ``batchItemFailures`` (a malformed response fails the whole batch, as in Lambda).
- A failed invocation deletes nothing. Nothing else is done to failed messages: their visibility
  timeout expires, they are received again, and the queue's redrive policy moves them to the DLQ
  after ``maxReceiveCount`` receives (moto implements visibility and redrive).

Long polling is done here with short receives: moto answers one request at a time (see
local.emulator), so a receive that waited inside moto would stall everyone. An idle poller receives
again as soon as moto has handled a request that may have sent a message (``wake``), and at least
every ``idle_interval`` seconds (for visibility timeouts and delays that expire on their own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.console import Console
from local.emulator import Activity
from local.functions.runtime import InvokeResult

MAX_RECEIVE = 10  # SQS returns at most 10 messages per receive
IDLE_INTERVAL = 1.0  # between receives of an idle poller that moto's activity wakes


@dataclass(frozen=True)
class MappingSpec:
    name: str  # for logs: the function's name
    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    max_concurrency: int = 2
    report_batch_item_failures: bool = False
    enabled: bool = True


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda puts it in ``event["Records"]``."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": list(value.get("StringListValues", [])),
                "binaryListValues": list(value.get("BinaryListValues", [])),
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def succeeded_messages(
    messages: list[dict[str, Any]], result: InvokeResult, report_batch_item_failures: bool
) -> list[dict[str, Any]]:
    """The messages Lambda deletes after an invocation."""
    if result.failed:
        return []
    if not report_batch_item_failures:
        return messages
    payload = result.payload
    if payload is None or payload == {}:
        return messages
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures is None:
        return messages if isinstance(payload, dict) else []
    if not isinstance(failures, list):
        return []
    known = {m["MessageId"] for m in messages}
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return []  # Lambda treats a response naming an unknown or empty id as a failure of the whole batch
        failed.add(identifier)
    return [m for m in messages if m["MessageId"] not in failed]


class SqsPoller:
    def __init__(
        self,
        spec: MappingSpec,
        sqs: Any,
        invoke: Callable[[dict[str, Any]], InvokeResult],
        console: Console,
        idle_interval: float = 0.1,
        long_poll_seconds: float = 20,
        activity: Activity | None = None,
    ) -> None:
        self.spec = spec
        self._sqs = sqs
        self._invoke = invoke
        self._console = console
        self._idle_interval = idle_interval
        self._long_poll_seconds = long_poll_seconds
        self._activity = activity
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if not self.spec.enabled:
            return
        for number in range(max(1, self.spec.max_concurrency)):
            thread = threading.Thread(target=self._run, name=f"poller:{self.spec.name}:{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5) -> None:
        self._stopping.set()
        if self._activity is not None:
            self._activity.touch()  # wakes idle pollers
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as error:
                if self._stopping.is_set():
                    return
                self._console.line(self.spec.name, f"poller error: {type(error).__name__}: {error}")
                self._stopping.wait(1)

    def receive_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: wait for the first (up to a long poll's 20 s), then fill until the batch
        or the batching window is full."""
        batch: list[dict[str, Any]] = []
        window_ends: float | None = None
        give_up = time.monotonic() + self._long_poll_seconds
        while not self._stopping.is_set() and (batch or time.monotonic() < give_up):
            seen = self._activity.version if self._activity else 0
            wanted = min(MAX_RECEIVE, self.spec.batch_size - len(batch))
            messages = self._sqs.receive_message(
                QueueUrl=self.spec.queue_url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch.extend(messages)
            if batch and window_ends is None:
                window_ends = time.monotonic() + self.spec.batching_window_seconds
            if len(batch) >= self.spec.batch_size or (window_ends is not None and time.monotonic() >= window_ends):
                return batch
            if not messages:
                if self._activity is None or batch:
                    self._stopping.wait(min(self._idle_interval, 0.1) if batch else self._idle_interval)
                else:
                    self._activity.wait(seen, self._idle_interval)
        return batch

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [lambda_record(m, self.spec.queue_arn, self.spec.region) for m in messages]}

    def finished(self, messages: list[dict[str, Any]], result: InvokeResult) -> list[dict[str, Any]]:
        """The messages to delete after the invocation."""
        return succeeded_messages(messages, result, self.spec.report_batch_item_failures)

    def poll_once(self) -> int:
        """One receive-invoke-delete round; returns how many messages were handed to the function."""
        messages = self.receive_batch()
        if not messages:
            return 0
        result = self._invoke(self.event(messages))
        done = self.finished(messages, result)
        for start in range(0, len(done), MAX_RECEIVE):
            chunk = done[start : start + MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self.spec.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if len(done) < len(messages):
            self._console.line(
                self.spec.name,
                f"{len(messages) - len(done)} of {len(messages)} messages failed; "
                "they return after their visibility timeout",
            )
        return len(messages)
