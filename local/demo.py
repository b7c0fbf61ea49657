"""``make demo`` (with ``make local`` running): upload a few sample photos through the API and print what
was recognised in each, and the signed webhook deliveries a receiver on this machine got.

Reads only the outputs file (``.local/cdk-outputs.json`` by default), so it runs against a deployment
too, given its outputs file and ``--username``/``--password`` (webhooks then need a public receiver).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.client import AppClient


def samples() -> dict[str, tuple[bytes, str]]:
    """Photos that ship inside scikit-image's wheel, and a printed page."""
    from PIL import Image, ImageDraw, ImageFont
    from skimage import data

    def encode(image: Any, image_format: str) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=image_format)
        return buffer.getvalue()

    page = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(page).text((20, 70), "Hello from the local mode", fill="black", font=ImageFont.load_default(40))
    photos: dict[str, Callable[[], Any]] = {"cat": data.chelsea, "coffee": data.coffee, "astronaut": data.astronaut}
    return {
        "cat.jpg": (encode(Image.fromarray(photos["cat"]()), "JPEG"), "image/jpeg"),
        "coffee.jpg": (encode(Image.fromarray(photos["coffee"]()), "JPEG"), "image/jpeg"),
        "astronaut.png": (encode(Image.fromarray(photos["astronaut"]()), "PNG"), "image/png"),
        "page.png": (encode(page, "PNG"), "image/png"),
    }


class Receiver:
    """A webhook endpoint on loopback that checks each delivery's Standard Webhooks signature."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.secret = ""
        received = self.deliveries
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(
                    {
                        "id": self.headers.get("webhook-id", ""),
                        "verified": receiver.verify(self.headers, body),
                        "event": json.loads(body or b"{}"),
                    }
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def verify(self, headers: Any, body: bytes) -> bool:
        if not self.secret.startswith("whsec_"):
            return False
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        offered = [part.split(",", 1)[-1] for part in str(headers.get("webhook-signature", "")).split()]
        return any(hmac.compare_digest(expected, signature) for signature in offered)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def summary(name: str, result: dict[str, Any], seconds: float) -> list[str]:
    lines = [f"{name}: {result['status']} in {seconds:.1f} s (image {result['imageId']})"]
    if result["status"] == "FAILED":
        error = result.get("error") or {}
        return [*lines, f"    error: {error.get('code')}: {error.get('message')}"]
    image = result.get("image") or {}
    if image:
        lines.append(f"    {image['format']} {image['width']}x{image['height']}, {image['sizeBytes']:,} bytes")
    results = result.get("results") or {}
    labels = results.get("labels") or []
    if labels:
        top = ", ".join(f"{label['name']} {label['confidence']:.0f}%" for label in labels[:6])
        lines.append(f"    labels: {top}")
    text = (results.get("text") or {}).get("lines") or []
    if "text" in results:
        lines.append(f"    text: {' | '.join(line['text'] for line in text) if text else '(none)'}")
    if "faces" in results:
        lines.append(f"    faces: {len(results['faces'])}")
    moderation = results.get("moderation")
    if moderation is not None:
        names = ", ".join(label["name"] for label in moderation.get("labels", [])) or "nothing flagged"
        lines.append(f"    moderation: {'UNSAFE' if moderation.get('unsafe') else 'safe'} ({names})")
    if result.get("reusedFrom"):
        lines.append(f"    (analysis reused from {result['reusedFrom']})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__)
    parser.add_argument("--outputs-file", type=Path, default=Path(".local/cdk-outputs.json"))
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--no-webhook", action="store_true", help="do not subscribe a local webhook receiver")
    args = parser.parse_args(argv)
    if not args.outputs_file.is_file():
        print(f"{args.outputs_file} not found: start `make local` first (in another terminal)", file=sys.stderr)
        return 2
    client = AppClient.from_file(args.outputs_file, args.username, args.password)
    client.sign_in()
    print(f"Signed in to {client.api_url}")

    receiver: Receiver | None = None
    if not args.no_webhook:
        receiver = Receiver()
        answer = client.call("POST", "webhooks", {"url": receiver.url, "events": ["image.analyzed", "image.failed"]})
        if answer.status == 201:
            receiver.secret = answer.json()["secret"]
            print(f"Webhook {answer.json()['webhookId']} -> {receiver.url}")
        else:
            print(f"(no webhook: POST /webhooks answered {answer.status} {answer.body[:200]!r})")
            receiver.close()
            receiver = None

    features = ["labels", "text", "faces", "moderation"]
    started: dict[str, tuple[str, float]] = {}
    for name, (body, content_type) in samples().items():
        started[name] = (client.upload(name, body, content_type, features), time.monotonic())
        print(f"Uploaded {name} ({len(body):,} bytes) as {started[name][0]}")
    print()
    for name, (image_id, at) in started.items():
        result = client.wait_for(image_id, timeout=180)
        print("\n".join(summary(name, result, time.monotonic() - at)))

    if receiver is not None:
        deadline = time.monotonic() + 30
        while len(receiver.deliveries) < len(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"\nWebhook deliveries received: {len(receiver.deliveries)}")
        for delivery in receiver.deliveries:
            event = delivery["event"]
            data = event.get("data", {})
            print(
                f"    {event.get('type')} image {data.get('imageId')} status {data.get('status')} "
                f"(signature {'valid' if delivery['verified'] else 'INVALID'}, id {delivery['id']})"
            )
        receiver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
