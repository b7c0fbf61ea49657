"""The example receiver: verifies with standardwebhooks, refuses replays and forgeries, dedupes by id."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from image_pipeline.webhooks.domain.signing import generate_secret, webhook_headers
from local.tools.webhook_receiver import WebhookReceiver, main

SECRET = generate_secret()
BODY = json.dumps({"type": "image.analyzed", "version": "1", "data": {"imageId": "x", "status": "COMPLETED"}})


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    lines: list[str] = []
    with WebhookReceiver(SECRET, echo=lines.append) as running:
        running.lines = lines  # type: ignore[attr-defined]
        yield running


def post(receiver: WebhookReceiver, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(receiver.url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_signed_event_is_handed_over_once_and_printed(receiver: WebhookReceiver) -> None:
    # Given a signed delivery, When it arrives twice (a retry)
    for _ in range(2):
        assert post(receiver, BODY, webhook_headers([SECRET], "msg_1", int(time.time()), BODY)) == 200
    # Then the application got it once, and it was printed
    assert [e.message_id for e in receiver.events] == ["msg_1"]
    assert receiver.stats.duplicates == 1
    assert receiver.lines == ["webhook msg_1 image.analyzed v1 imageId=x status=COMPLETED"]  # type: ignore[attr-defined]


def test_a_replay_older_than_five_minutes_is_refused(receiver: WebhookReceiver) -> None:
    stale = int(time.time()) - 301
    assert post(receiver, BODY, webhook_headers([SECRET], "msg_2", stale, BODY)) == 401
    assert receiver.events == []


def test_a_forged_or_tampered_delivery_is_refused(receiver: WebhookReceiver) -> None:
    now = int(time.time())
    assert post(receiver, BODY, webhook_headers([generate_secret()], "msg_3", now, BODY)) == 401
    assert post(receiver, BODY.replace("x", "y"), webhook_headers([SECRET], "msg_3", now, BODY)) == 401
    assert post(receiver, BODY, {"content-type": "application/json"}) == 401
    assert receiver.stats.rejected == 3
    assert receiver.events == []


def test_the_command_line_needs_a_secret() -> None:
    with pytest.raises(SystemExit):
        main(["--port", "0"])


class _Document(BaseHTTPRequestHandler):
    """Serves one JSON document at /results.json (a presigned link's stand-in); anything else is expired."""

    def do_GET(self) -> None:
        status, body = (200, b'{"labels": [{"name": "Starling"}]}') if self.path == "/results.json" else (403, b"")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_large_result_is_fetched_from_its_link_on_receipt(receiver: WebhookReceiver) -> None:
    # Given a link server on loopback, and two events too large to carry their results: one link works,
    # one has expired
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Document)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for n, path in ((1, "/results.json"), (2, "/expired.json")):
            data = {"imageId": f"big-{n}", "status": "COMPLETED", "resultsOmitted": True, "resultsUrl": base + path}
            body = json.dumps({"type": "image.analyzed", "version": "1", "data": data})
            # When each is delivered
            assert post(receiver, body, webhook_headers([SECRET], f"msg_big_{n}", int(time.time()), body)) == 200
    finally:
        server.shutdown()
        server.server_close()
    # Then the first was handed over with its results, the second without (and counted), both accepted
    assert [event.results for event in receiver.events] == [{"labels": [{"name": "Starling"}]}, None]
    assert (receiver.stats.results_fetched, receiver.stats.results_fetch_failures) == (1, 1)
    assert receiver.lines[0].endswith("results(link)=['labels']")  # type: ignore[attr-defined]
    assert receiver.lines[1].endswith("results(link)=link failed")  # type: ignore[attr-defined]
