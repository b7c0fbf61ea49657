"""The HTTP side: a threaded server on ``POST /`` that speaks to :class:`Analyzer`."""

import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import boto3

from analyzer.analysis import DEFAULT_MAX_IMAGES, AnalysisCache
from analyzer.models.registry import Models
from analyzer.protocol import Analyzer
from analyzer.s3 import S3Client, S3ImageReader
from analyzer.source import ImageSource
from analyzer.throttle import Throttle

CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_BODY_BYTES = 32 * 1024 * 1024
"""Far above 5 MB of base64; larger bodies are refused before they are read."""
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8001
    s3_endpoint_url: str | None = None
    tps_limit: int | None = None
    latency_ms: int = 0
    cached_images: int = DEFAULT_MAX_IMAGES
    """How many images' analyses are kept for the next operations on them (0: none)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_POST(self) -> None:
        declared = self.headers.get("Content-Length") or "0"
        length = int(declared) if declared.isdigit() else -1
        if not 0 <= length <= MAX_BODY_BYTES:
            # The body is left unread, so the connection can't carry another request.
            self.close_connection = True
            code = "ImageTooLargeException" if length > 0 else "SerializationException"
            self._send(400, {"__type": code, "Message": f"Unacceptable Content-Length: {declared}"})
            return
        body = self.rfile.read(length)
        status, document = self.server.analyzer.handle(self.headers.get("X-Amz-Target"), body)
        self._send(status, document)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(
                200,
                {"status": "ok", "models": self.server.analyzer.models.load_counts()},
            )
        else:
            self._send(404, {"__type": "UnknownOperationException", "Message": "Not found"})

    def _send(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if status >= 400:
            self.send_header("x-amzn-ErrorType", str(document["__type"]))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], analyzer: Analyzer) -> None:
        super().__init__(address, _Handler)
        self.analyzer = analyzer


def default_s3_client(endpoint_url: str | None) -> S3Client:
    """boto3's S3 client for ``endpoint_url``. An emulator (any endpoint given) gets
    placeholder credentials when boto3 finds none, since emulators accept any."""
    session = boto3.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    placeholder = "analyzer" if endpoint_url is not None and session.get_credentials() is None else None
    client: S3Client = session.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=session.region_name or "us-east-1",
        aws_access_key_id=placeholder,
        aws_secret_access_key=placeholder,
    )
    return client


def make_server(
    config: ServerConfig,
    models: Models | None = None,
    s3_client: S3Client | None = None,
) -> _Server:
    analyzer = Analyzer(
        images=ImageSource(S3ImageReader(s3_client or default_s3_client(config.s3_endpoint_url))),
        throttle=Throttle(config.tps_limit, config.latency_ms),
        analyses=AnalysisCache(models or Models(), max_images=config.cached_images),
    )
    return _Server((config.host, config.port), analyzer)


class RunningServer:
    """A server answering on a background thread; ``close()`` (or ``with``) stops it."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def models(self) -> Models:
        return self._server.analyzer.models

    @property
    def analyses(self) -> AnalysisCache:
        return self._server.analyzer.analyses

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def start_server(
    config: ServerConfig | None = None,
    models: Models | None = None,
    s3_client: S3Client | None = None,
) -> RunningServer:
    """Starts a server in this process (port 0 by default: any free port)."""
    return RunningServer(make_server(config or ServerConfig(port=0), models, s3_client))
