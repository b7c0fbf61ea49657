"""Our spans on Lambda's active tracing, with no tracing SDK (docs/observability.md says why).

With active tracing on, Lambda records the function's X-Ray segment and passes its trace header in
``_X_AMZN_TRACE_ID`` (``Root=1-...;Parent=<segment id>;Sampled=1``). Each sampled invocation adds:

- a ``## <handler>`` subsegment under that segment, with the cold start and the service as annotations and
  the exception's type when the handler fails (never its arguments, its answer or an exception's message:
  answers carry webhook secrets and upload links);
- one subsegment per AWS call (``namespace: aws``: service, operation, region, request id, status), from
  botocore's event hooks on the default boto3 session.

Subsegments go to the X-Ray daemon Lambda runs (``AWS_XRAY_DAEMON_ADDRESS``) over UDP, in the daemon's
documented format: ``{"format": "json", "version": 1}`` then the segment document, one per datagram.
Not sampled, no trace header, no daemon address or ``POWERTOOLS_TRACE_DISABLED=true`` (the local mode):
nothing is sent. botocore itself forwards the trace
header to SQS and SNS, so the pipeline's hops stay in one trace.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

HEADER = b'{"format": "json", "version": 1}\n'
TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"
DAEMON_ENV = "AWS_XRAY_DAEMON_ADDRESS"
DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
_MAX_DATAGRAM = 64 * 1024
Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class TraceHeader:
    root: str
    parent: str
    sampled: bool

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader | None:
        """``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1``; None if incomplete."""
        fields = dict(part.strip().split("=", 1) for part in (value or "").split(";") if "=" in part)
        if not fields.get("Root") or not fields.get("Parent"):
            return None
        return cls(root=fields["Root"], parent=fields["Parent"], sampled=fields.get("Sampled") == "1")


def daemon_address(value: str | None) -> tuple[str, int] | None:
    """``host:port`` or ``udp:host:port tcp:host:port`` (the daemon's two forms); None if absent or unreadable."""
    for part in (value or "").split():
        if part.startswith("tcp:"):
            continue
        host, _, port = part.removeprefix("udp:").rpartition(":")
        if host and port.isdigit():
            return host, int(port)
    return None


class Sender(Protocol):
    def send(self, document: dict[str, Any]) -> None: ...


class UdpSender:
    """One datagram per subsegment to the daemon; a send that fails is dropped (tracing never fails a call)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def send(self, document: dict[str, Any]) -> None:
        datagram = HEADER + json.dumps(document, separators=(",", ":"), default=str).encode()
        if len(datagram) > _MAX_DATAGRAM:
            return
        with contextlib.suppress(OSError):
            self._socket.sendto(datagram, self._address)


def new_id() -> str:
    return secrets.token_hex(8)


class Tracer:
    """``capture_lambda_handler`` as Powertools' Tracer has it, on our own subsegments (see the module)."""

    def __init__(self, service: str | None = None, sender: Sender | None = None) -> None:
        self.service = service or os.environ.get("POWERTOOLS_SERVICE_NAME", "service")
        self._sender = sender
        self._cold_start = True
        self._lock = threading.Lock()
        self._current: tuple[TraceHeader, str] | None = None  # (trace, handler subsegment id) of this invocation
        self._hooked: set[int] = set()

    def sender(self) -> Sender | None:
        if self._sender is None:
            address = daemon_address(os.environ.get(DAEMON_ENV))
            if address is not None:
                self._sender = UdpSender(address)
        return self._sender

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """Traces each invocation of ``handler`` as a subsegment; never records its event or its answer."""

        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            trace = TraceHeader.parse(os.environ.get(TRACE_HEADER_ENV))
            disabled = os.environ.get(DISABLED_ENV, "").lower() in {"1", "true"}
            sender = self.sender() if trace is not None and trace.sampled and not disabled else None
            cold_start, self._cold_start = self._cold_start, False
            if trace is None or sender is None:
                return handler(event, context)
            self._hook_aws_calls()
            subsegment = {
                "name": f"## {handler.__name__}",
                "id": new_id(),
                "trace_id": trace.root,
                "parent_id": trace.parent,
                "type": "subsegment",
                "start_time": time.time(),
                "annotations": {"ColdStart": cold_start, "Service": self.service},
            }
            self._current = (trace, str(subsegment["id"]))
            try:
                return handler(event, context)
            except Exception as error:
                subsegment["fault"] = True
                subsegment["cause"] = {"exceptions": [{"id": new_id(), "type": type(error).__name__}]}
                raise
            finally:
                self._current = None
                subsegment["end_time"] = time.time()
                sender.send(subsegment)

        return cast(Handler, traced)

    # ----- AWS calls (botocore event hooks)

    def _hook_aws_calls(self) -> None:
        """Registers on the default boto3 session (once per session): clients built from it afterwards
        (the composition roots build them on the first invocation) report each call."""
        import boto3

        session = boto3._get_default_session()
        with self._lock:
            if id(session) in self._hooked:
                return
            self._hooked.add(id(session))
        # before-parameter-build comes first: a before-call handler may answer the call itself and stop the others
        session.events.register("before-parameter-build", self._before_call)
        session.events.register("after-call", self._after_call)
        session.events.register("after-call-error", self._after_call_error)

    def _before_call(self, *, context: dict[str, Any], **_: Any) -> None:
        if self._current is not None:
            context["_image_pipeline_trace"] = (self._current, time.time(), new_id())

    def _after_call(
        self, *, context: dict[str, Any], model: Any, http_response: Any = None, parsed: Any = None, **_: Any
    ) -> None:
        metadata = (parsed or {}).get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
        status = getattr(http_response, "status_code", None) or metadata.get("HTTPStatusCode")
        self._end_call(context, model, status, metadata.get("RequestId"), None)

    def _after_call_error(self, *, context: dict[str, Any], model: Any, exception: Exception, **_: Any) -> None:
        self._end_call(context, model, None, None, exception)

    def _end_call(
        self, context: dict[str, Any], model: Any, status: int | None, request_id: str | None, error: Exception | None
    ) -> None:
        started = context.pop("_image_pipeline_trace", None)
        sender = self._sender
        if started is None or sender is None:
            return
        (trace, parent), start_time, subsegment_id = started
        service = model.service_model
        subsegment: dict[str, Any] = {
            "name": str(service.service_id),  # DynamoDB, S3, SQS, as X-Ray's service map names them
            "id": subsegment_id,
            "trace_id": trace.root,
            "parent_id": parent,
            "type": "subsegment",
            "namespace": "aws",
            "start_time": start_time,
            "end_time": time.time(),
            "aws": {"operation": model.name, "region": os.environ.get("AWS_REGION", ""), "request_id": request_id},
        }
        if status is not None:
            subsegment["http"] = {"response": {"status": status}}
            subsegment["error"] = 400 <= status < 500
            subsegment["throttle"] = status == 429
            subsegment["fault"] = status >= 500
        if error is not None:
            subsegment["fault"] = True
            subsegment["cause"] = {"exceptions": [{"id": new_id(), "type": type(error).__name__}]}
        sender.send(subsegment)
