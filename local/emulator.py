"""moto's server on loopback, answering one request at a time.

Real services serialise changes to their own state; moto's backends do not (its DynamoDB
``transact_write_items`` deep-copies a table while another request may write to it, which fails with
"dictionary changed size during iteration"). So every request into moto holds one lock. A long poll
(an SQS ``ReceiveMessage`` that may wait, ``WaitTimeSeconds`` 1..20 or the queue's default) would hold
it for its whole wait: it is answered outside the lock instead, by receiving with ``WaitTimeSeconds=0``
in short steps, the lock released between them, woken by :class:`Activity` as soon as any request may
have put a message on a queue, until a message arrives or the wait ends.
Presigned POST uploads are checked as S3 checks them (local.s3_post_policy) before moto stores them.
Lambda's ``Invoke`` (request-response) runs the local functions (moto would run them in Docker), outside the lock:
a function's own calls come back into moto while it runs.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.iam.enforcer import enforce_iam
from local.s3_post_policy import enforce_post_policies

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# Requests that never make a message visible: they do not wake the pollers.
_QUIET_TARGETS = frozenset({"AmazonSQS.ReceiveMessage", "AmazonSQS.GetQueueAttributes"})


class Activity:
    """Counts requests that may have changed moto's state, so that idle pollers need not spin."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    def touch(self) -> None:
        with self._condition:
            self._version += 1
            self._condition.notify_all()

    def wait(self, since: int, timeout: float) -> None:
        """Until a request after ``since`` (at once if there was one already), or ``timeout``."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != since, timeout)


LONG_POLL_STEP = 0.5  # seconds between two empty receives of a long poll that no request woke
# Requests in the JSON protocol that may make a message visible (SNS and S3 notifications come through
# requests without a target): only they wake long polls, so that other traffic does not make them receive.
_ENQUEUING_TARGETS = frozenset(
    {
        "AmazonSQS.SendMessage",
        "AmazonSQS.SendMessageBatch",
        "AmazonSQS.ChangeMessageVisibility",
        "AmazonSQS.ChangeMessageVisibilityBatch",
    }
)
_RECEIVE = "AmazonSQS.ReceiveMessage"
_MAX_WAIT_SECONDS = 20


def _captured(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status, headers and body of one request to ``app``, nothing sent to the client."""
    answer: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        answer[:] = [status, headers]
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return answer[0], answer[1], body


def _with_body(environ: dict[str, Any], body: bytes, target: str | None = None) -> dict[str, Any]:
    changed = dict(environ)
    changed["wsgi.input"] = io.BytesIO(body)
    changed["CONTENT_LENGTH"] = str(len(body))
    if target is not None:
        changed["HTTP_X_AMZ_TARGET"] = target
    return changed


def _json_receive(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments of an SQS ReceiveMessage in the JSON protocol (what boto3 sends), else None."""
    if environ.get("HTTP_X_AMZ_TARGET") != _RECEIVE:
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)  # the request can still be read as it came
    try:
        arguments = json.loads(raw or b"{}")
    except ValueError:
        return None
    return arguments if isinstance(arguments, dict) else None


def _has_messages(body: bytes) -> bool:
    try:
        return bool(json.loads(body).get("Messages"))
    except (ValueError, AttributeError):
        return True  # not an answer this loop understands: hand it over as it is


def serialised(app: WsgiApp, activity: Activity | None = None, *, long_poll_step: float = LONG_POLL_STEP) -> WsgiApp:
    lock = threading.Lock()
    wake = activity or Activity()  # any request that may have changed state (the local pollers wait on it)
    enqueued = Activity()  # a request that may have made a message visible (long polls wait on it)

    def once(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        with lock:
            # The whole body is produced under the lock: a lazy iterable would escape it.
            return _captured(app, environ)

    def wait_seconds(environ: dict[str, Any], arguments: dict[str, Any]) -> int:
        if "WaitTimeSeconds" in arguments:
            return int(arguments["WaitTimeSeconds"])
        # The queue's default wait (ReceiveMessageWaitTimeSeconds), asked for as the receive was sent.
        question = {"QueueUrl": arguments.get("QueueUrl"), "AttributeNames": ["ReceiveMessageWaitTimeSeconds"]}
        status, _, body = once(_with_body(environ, json.dumps(question).encode(), "AmazonSQS.GetQueueAttributes"))
        if not status.startswith("200"):
            return 0
        return int(json.loads(body).get("Attributes", {}).get("ReceiveMessageWaitTimeSeconds", 0))

    def long_poll(
        environ: dict[str, Any], arguments: dict[str, Any], seconds: int, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        immediate = json.dumps({**arguments, "WaitTimeSeconds": 0}).encode()
        deadline = time.monotonic() + seconds
        while True:
            since = enqueued.version
            status, headers, body = once(_with_body(environ, immediate))
            remaining = deadline - time.monotonic()
            if not status.startswith("200") or _has_messages(body) or remaining <= 0:
                start_response(status, headers)
                return [body]
            enqueued.wait(since, min(long_poll_step, remaining))

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        arguments = _json_receive(environ)
        if arguments is not None:
            try:
                seconds = wait_seconds(environ, arguments)
            except (TypeError, ValueError):
                seconds = 0  # moto answers the malformed value itself
            if 0 < seconds <= _MAX_WAIT_SECONDS:
                return long_poll(environ, arguments, seconds, start_response)
        status, headers, body = once(environ)
        start_response(status, headers)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target not in _QUIET_TARGETS:
            wake.touch()
        if target is None or target in _ENQUEUING_TARGETS:
            enqueued.touch()
        return [body]

    return application


# Lambda's Invoke: POST /2015-03-31/functions/{name or ARN}/invocations, the event as the body.
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# (function name or ARN, event) -> (payload, error as Lambda reports it, or None)
Invoker = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]


def lambda_invocations(app: WsgiApp, invoker: Callable[[], Invoker | None]) -> WsgiApp:
    """Answers Lambda ``Invoke`` with the local functions (``invoker()`` once they run); everything else goes to
    ``app``. A function error is answered as Lambda does: 200, ``X-Amz-Function-Error: Unhandled``, the error."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        invoke = invoker() if match and environ.get("REQUEST_METHOD") == "POST" else None
        if match is None or invoke is None:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            payload, error = invoke(unquote(match.group(1)), json.loads(raw) if raw else {})
        except KeyError as missing:
            body = json.dumps({"Type": "User", "Message": str(missing)}).encode()
            start_response(
                "404 Not Found",
                [("Content-Type", "application/json"), ("X-Amzn-ErrorType", "ResourceNotFoundException")],
            )
            return [body]
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if error is not None:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        start_response("200 OK", headers)
        return [json.dumps(error if error is not None else payload).encode()]

    return application


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # no line per request on the console


class SerialisedMotoServer(ThreadedMotoServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, secrets: Mapping[str, str] | None = None) -> None:
        """``secrets``: access key -> secret key, to check the signatures of presigned POST uploads."""
        super().__init__(ip_address=host, port=port, verbose=False)
        self._secrets = secrets if secrets is not None else {}  # looked up per upload: sessions come and go
        self.activity = Activity()
        self.invoker: Invoker | None = None  # set by the local mode once its functions run

    def _server_entry(self) -> None:
        moto = DomainDispatcherApplication(create_backend_app)
        app = serialised(enforce_iam(enforce_post_policies(moto, self._secrets)), self.activity)
        app = lambda_invocations(app, lambda: self.invoker)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
