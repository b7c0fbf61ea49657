"""End-to-end latency per image: from the presigned POST upload to COMPLETED readable through the API.

    .venv/bin/python -m bench.local_latency [--outputs .local/cdk-outputs.json] [--images 20] [--features labels,text]

Against a running app (``make local`` by default; any deployment given its outputs file and a user).
Uploads ``images`` distinct photos one at a time (each a slightly different copy of a real photo, so no
upload reuses an earlier analysis), polls GET /images/{id} every 50 ms, and prints the median, p90 and
extremes. Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image
from skimage import data

from local.tools.client import AppClient


def photo(index: int) -> bytes:
    """The scikit-image cat with one pixel changed per index: same work for the analyzer, a new ETag each time."""
    image = Image.fromarray(data.chelsea())
    image.putpixel((index % image.width, 0), (index % 256, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outputs", type=Path, default=Path(".local/cdk-outputs.json"))
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--features", default="labels,text")
    parser.add_argument("--username")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    client = AppClient.from_file(args.outputs, args.username, args.password)
    client.sign_in()
    features = args.features.split(",")
    seconds: list[float] = []
    salt = int(time.time())
    for index in range(args.images):
        body = photo(salt + index)
        ticket = client.create_upload(f"bench-{index}.png", "image/png", features)
        started = time.perf_counter()
        answer = client.post_file(ticket, body, "image/png")
        if answer.status >= 300:
            raise RuntimeError(f"upload refused: {answer.status} {answer.body[:200]!r}")
        result = client.wait_for(ticket["imageId"], interval=0.05)
        seconds.append(time.perf_counter() - started)
        if result["status"] != "COMPLETED" or result.get("reusedFrom"):
            raise RuntimeError(f"unexpected result: {result['status']} reusedFrom={result.get('reusedFrom')}")
    seconds.sort()
    p90 = seconds[max(0, int(len(seconds) * 0.9) - 1)]
    print(f"{len(seconds)} images, features {args.features}, one at a time (upload -> COMPLETED via the API):")
    print(
        f"  median {statistics.median(seconds):.2f} s, p90 {p90:.2f} s, min {seconds[0]:.2f} s, max {seconds[-1]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
