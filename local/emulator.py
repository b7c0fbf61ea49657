"""moto's server on loopback, answering one request at a time.

Real services serialise changes to their own state; moto's backends do not (its DynamoDB
``transact_write_items`` deep-copies a table while another request may write to it, which fails with
"dictionary changed size during iteration"). So every request into moto holds one lock, and clients
never long-poll moto (a waiting receive would hold the lock): the SQS poller polls briefly instead,
woken by :class:`Activity` as soon as any request may have put a message on a queue.
Presigned POST uploads are checked as S3 checks them (local.s3_post_policy) before moto stores them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


def serialised(app: WsgiApp, activity: Activity | None = None) -> WsgiApp:
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # The whole body is produced under the lock: a lazy iterable would escape it.
            body = list(app(environ, start_response))
        if activity is not None and environ.get("HTTP_X_AMZ_TARGET") not in _QUIET_TARGETS:
            activity.touch()
        return body

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

    def _server_entry(self) -> None:
        moto = DomainDispatcherApplication(create_backend_app)
        app = serialised(enforce_iam(enforce_post_policies(moto, self._secrets)), self.activity)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
