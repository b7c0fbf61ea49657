"""A client long-polling an emulated SQS queue does not hold the emulator's lock: other requests go on."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import EnvironBuilder

from local.emulator import Activity, serialised

QUEUE = "http://127.0.0.1/123456789012/uploads"
DEFAULT_WAIT_QUEUE = "http://127.0.0.1/123456789012/slow"  # ReceiveMessageWaitTimeSeconds 20
BOUND = 10  # seconds: only a deadlock would reach it


class FakeSqs:
    """Answers like moto, and like moto a waiting receive blocks (under the emulator's lock) until a message."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.arrived = threading.Condition()
        self.received = threading.Event()
        self.waits: list[int] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ["HTTP_X_AMZ_TARGET"].split(".", 1)[1]
        arguments = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        answer: dict[str, Any] = {}
        if target == "SendMessage":
            with self.arrived:
                self.messages.append(arguments["MessageBody"])
                self.arrived.notify_all()
        elif target == "GetQueueAttributes":
            wait = "20" if arguments["QueueUrl"] == DEFAULT_WAIT_QUEUE else "0"
            answer = {"Attributes": {"ReceiveMessageWaitTimeSeconds": wait}}
        elif target == "ReceiveMessage":
            wait = int(arguments.get("WaitTimeSeconds", 20 if arguments["QueueUrl"] == DEFAULT_WAIT_QUEUE else 0))
            self.waits.append(wait)
            self.received.set()
            with self.arrived:
                self.arrived.wait_for(lambda: bool(self.messages), timeout=BOUND if wait else 0)
                if self.messages:
                    answer = {"Messages": [{"Body": self.messages.pop(0)}]}
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [json.dumps(answer).encode()]


def request(target: str, **arguments: Any) -> dict[str, Any]:
    environ = EnvironBuilder(
        method="POST",
        path="/",
        data=json.dumps(arguments),
        headers={"X-Amz-Target": f"AmazonSQS.{target}", "Content-Type": "application/x-amz-json-1.0"},
    ).get_environ()
    return dict(environ)


def call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any], answers: list[dict[str, Any]]) -> None:
    answers.append(json.loads(b"".join(app(environ, lambda status, headers, exc_info=None: None))))


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_send_completes_while_another_client_long_polls() -> None:
    fake = FakeSqs()
    app = serialised(fake, Activity())
    polled: list[dict[str, Any]] = []
    # Given a client long-polling an empty queue for 20 s, its receive already inside the emulator
    poll = in_thread(lambda: call(app, request("ReceiveMessage", QueueUrl=QUEUE, WaitTimeSeconds=20), polled))
    assert fake.received.wait(BOUND)
    # When another client sends a message meanwhile
    sent: list[dict[str, Any]] = []
    send = in_thread(lambda: call(app, request("SendMessage", QueueUrl=QUEUE, MessageBody="hello"), sent))
    send.join(BOUND)
    # Then the send was not held behind the long poll, and the long poll answers with the message
    assert not send.is_alive(), "the send waited for the long poll's lock"
    poll.join(BOUND)
    assert polled == [{"Messages": [{"Body": "hello"}]}]
    # And moto itself was only ever asked for receives that do not wait
    assert set(fake.waits) == {0}


def test_the_queues_default_wait_is_kept() -> None:
    fake = FakeSqs()
    app = serialised(fake, Activity())
    polled: list[dict[str, Any]] = []
    # Given a queue whose receives wait 20 s by default, polled without WaitTimeSeconds
    poll = in_thread(lambda: call(app, request("ReceiveMessage", QueueUrl=DEFAULT_WAIT_QUEUE), polled))
    assert fake.received.wait(BOUND)
    # When a message is sent after the first (empty) receive
    call(app, request("SendMessage", QueueUrl=DEFAULT_WAIT_QUEUE, MessageBody="late"), [])
    poll.join(BOUND)
    # Then the poll waited for it, as the queue's default asks, instead of answering empty at once
    assert polled == [{"Messages": [{"Body": "late"}]}]
    assert set(fake.waits) == {0}
