"""``make demo`` (with ``make local`` running): upload a few sample photos through the API and print what
was recognised in each, and the signed webhook deliveries a receiver on this machine got.

The webhook receiver is local/tools/webhook_receiver.py (it verifies each Standard Webhooks signature).
Reads only the outputs file (``.local/cdk-outputs.json`` by default), so it runs against a deployment
too, given its outputs file and ``--username``/``--password`` (webhooks then need a public receiver).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.tools.client import AppClient
from local.tools.webhook_receiver import WebhookReceiver


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
    parser = argparse.ArgumentParser(prog="python -m local.tools.demo", description=__doc__)
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

    receiver: WebhookReceiver | None = None
    if not args.no_webhook:
        receiver = WebhookReceiver().start()
        answer = client.call("POST", "webhooks", {"url": receiver.url, "events": ["image.analyzed", "image.failed"]})
        if answer.status == 201:
            receiver.trust(answer.json()["secret"])
            print(f"Webhook {answer.json()['webhookId']} -> {receiver.url}")
        else:
            print(f"(no webhook: POST /webhooks answered {answer.status} {answer.body[:200]!r})")
            receiver.stop()
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
        receiver.wait_for(len(started), timeout=30)
        stats = receiver.stats
        print(
            f"\nWebhook deliveries: {stats.accepted} accepted with a valid signature, "
            f"{stats.rejected} rejected, {stats.duplicates} duplicates"
        )
        for event in receiver.events:
            data = event.payload.get("data", {})
            print(f"    {event.type} image {data.get('imageId')} status {data.get('status')} (id {event.message_id})")
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
