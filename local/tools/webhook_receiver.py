"""An example third-party webhook receiver: verifies, rejects replays, dedupes, prints.

    python -m local.tools.webhook_receiver --port 9000 --secret whsec_...

It verifies every request with the ``standardwebhooks`` library (the signature over
``webhook-id.webhook-timestamp.body``; timestamps more than 5 minutes off are refused, so a captured
request cannot be replayed later), hands each ``webhook-id`` to the application once (retries of a
delivery it already accepted are answered 200 and dropped), fetches the full results of an event too large
to carry them from its ``resultsUrl`` (a presigned link that expires: fetched on receipt, no token), and
prints what it got. The local mode and
``make demo`` start it in-process::

    receiver = WebhookReceiver(secret).start()
    ...  # register receiver.url
    receiver.events   # what the application got, in order, once each
    receiver.stop()
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 1024 * 1024
# A result document is at most a DynamoDB item (400 KB); anything past this is not read.
MAX_RESULTS_BYTES = 4 * 1024 * 1024
# Retries of one delivery come for about a day and a half: remember ids for longer than that.
REMEMBER_IDS_SECONDS = 48 * 3600


@dataclass(frozen=True)
class ReceivedEvent:
    message_id: str
    timestamp: int
    payload: dict[str, Any]
    received_at: float
    # An event too large to carry its results: what its resultsUrl answered (None when the fetch failed).
    results: dict[str, Any] | None = None

    @property
    def type(self) -> str:
        return str(self.payload.get("type"))


@dataclass
class ReceiverStats:
    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    scripted_failures: int = 0
    results_fetched: int = 0
    results_fetch_failures: int = 0
    statuses: list[int] = field(default_factory=list)


class WebhookReceiver:
    """A small HTTP server on ``host:port`` (port 0: any free port) that accepts signed webhooks on any path.

    Give it the endpoint's secret now, or with ``trust()`` once the webhook is registered.
    """

    def __init__(
        self,
        secret: str | Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhook",
        echo: Callable[[str], None] | None = None,
    ) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        self._verifiers = [Webhook(s) for s in secrets]
        self._host = host
        self._port = port
        self._path = path
        self._echo = echo
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._script: list[tuple[int, dict[str, str]]] = []
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.events: list[ReceivedEvent] = []
        self.stats = ReceiverStats()

    # ----- life cycle

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    self._answer(413, {"error": "body too large"})
                    return
                body = self.rfile.read(length)
                status, answer, extra = receiver.receive(body, {k.lower(): v for k, v in self.headers.items()})
                self._answer(status, answer, extra)

            def _answer(self, status: int, answer: dict[str, Any], extra: dict[str, str] | None = None) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}{self._path}"

    # ----- behaviour

    def trust(self, secret: str) -> None:
        """Accept signatures made with ``secret`` too (e.g. the one ``POST /webhooks`` just returned)."""
        with self._lock:
            self._verifiers.append(Webhook(secret))

    def fail_next(self, times: int, status: int = 503, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` verified requests with ``status`` (the application being down)."""
        with self._lock:
            self._script.extend([(status, headers or {})] * times)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Blocks until the application has received ``count`` events (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.events) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._arrived.wait(remaining)
        return True

    def receive(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Verify, dedupe, hand over: the status and body to answer with."""
        with self._lock:
            self.stats.requests += 1
        payload = self._verified(body, headers)
        if payload is None:
            return self._answered(401, {"error": "invalid signature or stale timestamp"}, rejected=True)
        message_id = headers["webhook-id"]
        with self._arrived:
            if self._script:
                status, extra = self._script.pop(0)
                self.stats.scripted_failures += 1
                self.stats.statuses.append(status)
                return status, {"error": "scripted failure"}, extra
            now = time.time()
            self._forget_older_than(now - REMEMBER_IDS_SECONDS)
            if message_id in self._seen:
                self.stats.duplicates += 1
                self.stats.statuses.append(200)
                return 200, {"duplicate": True}, {}
            self._seen[message_id] = now
        # Outside the lock: a slow link never holds up another delivery.
        results = self._fetch_results(payload.get("data", {}))
        event = ReceivedEvent(message_id, int(headers["webhook-timestamp"]), payload, now, results)
        with self._arrived:
            self.events.append(event)
            self.stats.accepted += 1
            self.stats.statuses.append(200)
            self._arrived.notify_all()
        self._print(event)
        return 200, {"received": True}, {}

    def _answered(
        self, status: int, answer: dict[str, Any], *, rejected: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.stats.rejected += int(rejected)
            self.stats.statuses.append(status)
        return status, answer, {}

    def _verified(self, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        with self._lock:
            verifiers = list(self._verifiers)
        for verifier in verifiers:
            try:
                payload = verifier.verify(body, headers)
            except (WebhookVerificationError, ValueError):
                continue
            return payload if isinstance(payload, dict) else None
        return None

    def _fetch_results(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """``data.resultsUrl`` is a presigned GET of the full results: fetch it now, before it expires."""
        url = data.get("resultsUrl")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return None
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                results = json.loads(answer.read(MAX_RESULTS_BYTES))
        except (urllib.error.URLError, OSError, ValueError):
            results = None
        with self._lock:
            if isinstance(results, dict):
                self.stats.results_fetched += 1
                return results
            self.stats.results_fetch_failures += 1
        return None

    def _forget_older_than(self, cutoff: float) -> None:
        for message_id in [m for m, at in self._seen.items() if at < cutoff]:
            del self._seen[message_id]

    def _print(self, event: ReceivedEvent) -> None:
        data = event.payload.get("data", {})
        line = (
            f"webhook {event.message_id} {event.type} v{event.payload.get('version')} "
            f"imageId={data.get('imageId', '-')} status={data.get('status', '-')}"
        )
        if "results" in data:
            line += f" results={sorted(data['results'])}"
        if data.get("resultsOmitted"):
            fetched = sorted(event.results) if event.results is not None else "link failed"
            line += f" results(link)={fetched}"
        if "error" in data:
            line += f" error={data['error']}"
        if self._echo is not None:
            self._echo(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Example webhook receiver (Standard Webhooks)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--path", default="/webhook")
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (twice during a secret rotation)")
    arguments = parser.parse_args(argv)
    receiver = WebhookReceiver(
        arguments.secret,
        host=arguments.host,
        port=arguments.port,
        path=arguments.path,
        echo=lambda line: print(line, flush=True),
    ).start()
    print(f"listening on {receiver.url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
