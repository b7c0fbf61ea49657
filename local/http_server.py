"""An HTTP server bound on construction (so its URL can go into the templates' values) and served on a
background thread once there is something to serve."""

from __future__ import annotations

import errno
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BackgroundServer:
    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise OSError(
                error.errno, f"{name}: {host}:{port} is in use (choose another port: LOCAL_PORT=, WEB_PORT=, --port)"
            ) from error
        self._server.daemon_threads = True
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``host:port``, the port the system chose when 0 was asked for."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self._name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
