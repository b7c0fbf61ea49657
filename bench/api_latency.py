"""Latency of each REST API route, measured over HTTP against a running app (``make local`` by default).

    .venv/bin/python -m bench.api_latency [--outputs .local/cdk-outputs.json] [--rounds 20]

Reads only the outputs file, signs in as its demo user (or --username/--password), and calls every
/images and /webhooks route ``rounds`` times. Prints p50 and p90 per route in
milliseconds. Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from local.tools.client import AppClient, HttpReply
from tests.support.images import image_bytes


def timed(samples: dict[str, list[float]], route: str, call: Callable[[], HttpReply], expect: int) -> HttpReply:
    started = time.perf_counter()
    answer = call()
    samples.setdefault(route, []).append((time.perf_counter() - started) * 1000)
    if answer.status != expect:
        raise RuntimeError(f"{route}: {answer.status} {answer.body[:200]!r}")
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outputs", type=Path, default=Path(".local/cdk-outputs.json"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument(
        "--webhook-url",
        default="http://127.0.0.1:9/hook",
        help="subscribed and removed again (default: a loopback port nobody answers; local mode only)",
    )
    args = parser.parse_args(argv)
    client = AppClient.from_file(args.outputs, args.username, args.password)
    client.sign_in()
    samples: dict[str, list[float]] = {}
    jpeg = image_bytes(320, 240, seed=7)
    created: list[str] = []
    for _ in range(args.rounds):
        ticket = timed(
            samples,
            "POST /images",
            lambda: client.call("POST", "images", {"filename": "bench.jpg", "contentType": "image/jpeg"}),
            201,
        ).json()
        timed(samples, "POST <presigned S3 upload>", lambda t=ticket: client.post_file(t, jpeg, "image/jpeg"), 204)
        created.append(ticket["imageId"])
    for image_id in created:
        client.wait_for(image_id)
    label = next(
        (item["name"] for item in client.call("GET", f"images/{created[0]}").json()["results"].get("labels", [])),
        "Cat",
    )
    for image_id in created:
        timed(samples, "GET /images/{imageId}", lambda i=image_id: client.call("GET", f"images/{i}"), 200)
        timed(samples, "GET /images/{imageId}/url", lambda i=image_id: client.call("GET", f"images/{i}/url"), 200)
        timed(samples, "GET /images?limit=20", lambda: client.call("GET", "images?limit=20"), 200)
        timed(samples, "GET /images?label=...", lambda: client.call("GET", f"images?label={label}&limit=20"), 200)
        timed(samples, "GET /webhooks", lambda: client.call("GET", "webhooks"), 200)
    for image_id in created:
        timed(samples, "DELETE /images/{imageId}", lambda i=image_id: client.call("DELETE", f"images/{i}"), 204)
    for _ in range(args.rounds):
        hook = timed(
            samples,
            "POST /webhooks",
            lambda: client.call("POST", "webhooks", {"url": args.webhook_url, "events": ["image.analyzed"]}),
            201,
        ).json()["webhookId"]
        for method, route, expect in (
            ("POST", "rotate-secret", 200),
            ("POST", "test", 202),
            ("GET", "deliveries", 200),
        ):
            timed(
                samples,
                f"{method} /webhooks/{{webhookId}}/{route}",
                lambda m=method, r=route, h=hook: client.call(m, f"webhooks/{h}/{r}"),
                expect,
            )
        timed(samples, "DELETE /webhooks/{webhookId}", lambda h=hook: client.call("DELETE", f"webhooks/{h}"), 204)
    width = max(len(route) for route in samples)
    print(f"{'route':<{width}}  {'n':>3}  {'p50 ms':>7}  {'p90 ms':>7}")
    for route, values in samples.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        print(f"{route:<{width}}  {len(values):>3}  {statistics.median(values):>7.1f}  {p90:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
