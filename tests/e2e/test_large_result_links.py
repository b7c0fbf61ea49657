"""A result too large for its event, end to end in the local mode: the receiver fetches the link it got.

The local mode runs here with a Rekognition on loopback that finds one label thousands of times (a result
over 200 KiB); everything else is the real local mode: the worker's and the dispatcher's IAM policies are
enforced, so the worker must be allowed to write the document and the dispatcher to read it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from image_pipeline.events.domain.events import MAX_EVENT_BYTES
from local.tools.client import AppClient, http
from local.tools.webhook_receiver import WebhookReceiver
from tests.support.images import image_bytes
from tests.support.local_process import LocalProcess
from tests.support.synth import synthesize

pytestmark = pytest.mark.e2e
INSTANCES = 2500
BOX = {"Width": 0.0123, "Height": 0.0456, "Left": 0.789, "Top": 0.321}
LABELS = {
    "Labels": [
        {"Name": "Starling", "Confidence": 93.5, "Instances": [{"BoundingBox": BOX, "Confidence": 93.5}] * INSTANCES}
    ],
    "LabelModelVersion": "3.0",
}


class _Rekognition(BaseHTTPRequestHandler):
    """DetectLabels answers LABELS; any other operation finds nothing."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        body = json.dumps(LABELS if operation == "DetectLabels" else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def rekognition() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rekognition)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def large_client(rekognition: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    local = LocalProcess(
        synthesize("dev").outdir, tmp_path_factory.mktemp("local-large"), "--rekognition-endpoint-url", rekognition
    )
    try:
        local.wait_ready()
        client = AppClient.from_file(Path(local.outputs_file))
        client.sign_in()
        yield client
    finally:
        local.stop()


def test_a_receiver_fetches_a_large_result_through_the_link_it_got(large_client: AppClient) -> None:
    # Given a receiver on loopback subscribed to image.analyzed, trusting the webhook's secret
    with WebhookReceiver() as receiver:
        answer = large_client.call("POST", "webhooks", {"url": receiver.url, "events": ["image.analyzed"]})
        assert answer.status == 201, answer.body
        receiver.trust(answer.json()["secret"])
        # When an image whose result is over 200 KiB is analysed
        image_id = large_client.upload("flock.jpg", image_bytes(400, 300, "JPEG", seed=3), "image/jpeg", ["labels"])
        result = large_client.wait_for(image_id)
        assert result["status"] == "COMPLETED", result
        assert len(json.dumps(result["results"])) > MAX_EVENT_BYTES
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not receiver.events:
            receiver.wait_for(1, timeout=1)
        # Then its event came with a link instead of the results, and the receiver fetched them through it
        [event] = receiver.events
        data = event.payload["data"]
        assert data["imageId"] == image_id
        assert data["resultsOmitted"] is True
        assert "results" not in data
        assert data["resultsUrl"].startswith("http://127.0.0.1:")  # the local S3 endpoint
        assert event.results == result["results"]
        assert len(event.results["labels"][0]["instances"]) == INSTANCES
        assert receiver.stats.results_fetch_failures == 0
        # and the link needs no token: a plain GET over HTTP answers the same JSON
        fetched = http("GET", data["resultsUrl"])
        assert fetched.status == 200
        assert json.loads(fetched.body) == result["results"]
        # When the owner deletes the image, the link stops working
        assert large_client.call("DELETE", f"images/{image_id}").status == 204
        assert http("GET", data["resultsUrl"]).status in (403, 404)
