"""moto's server on loopback, answering one request at a time.

Real services serialise changes to their own state; moto's backends do not (its DynamoDB
``transact_write_items`` deep-copies a table while another request may write to it, which fails with
"dictionary changed size during iteration"). So every request into moto holds one lock, and clients
never long-poll moto (a waiting receive would hold the lock): the SQS poller polls briefly instead.
Presigned POST uploads are checked as S3 checks them (local.s3_post_policy) before moto stores them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.s3_post_policy import enforce_post_policies

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialised(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # The whole body is produced under the lock: a lazy iterable would escape it.
            return list(app(environ, start_response))

    return application


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # no line per request on the console


class SerialisedMotoServer(ThreadedMotoServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, secrets: Mapping[str, str] | None = None) -> None:
        """``secrets``: access key -> secret key, to check the signatures of presigned POST uploads."""
        super().__init__(ip_address=host, port=port, verbose=False)
        self._secrets = dict(secrets or {})

    def _server_entry(self) -> None:
        moto = DomainDispatcherApplication(create_backend_app)
        app = serialised(enforce_post_policies(moto, self._secrets))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
