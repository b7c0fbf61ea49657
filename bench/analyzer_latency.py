"""Benchmark of the offline analyzer: model load times and per-operation latency.

Run: ``python bench/analyzer_latency.py [--runs 10]``. It starts the analyzer in-process on
a free port, loads each model once (timed), then calls every operation through boto3 on a
~1 MP JPEG (scikit-image's astronaut photo, upscaled to 1024 x 1024) and prints the median
and the spread over the runs. Figures depend on the machine; nothing here asserts them.
"""

import argparse
import io
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
from PIL import Image
from skimage import data

from analyzer.models.registry import Models
from analyzer.server import start_server

CALLS: dict[str, Callable[[Any, bytes], object]] = {
    "DetectLabels": lambda client, image: client.detect_labels(Image={"Bytes": image}),
    "DetectText": lambda client, image: client.detect_text(Image={"Bytes": image}),
    "DetectFaces (DEFAULT)": lambda client, image: client.detect_faces(Image={"Bytes": image}),
    "DetectFaces (ALL)": lambda client, image: client.detect_faces(Image={"Bytes": image}, Attributes=["ALL"]),
    "DetectModerationLabels": lambda client, image: client.detect_moderation_labels(Image={"Bytes": image}),
    "RecognizeCelebrities": lambda client, image: client.recognize_celebrities(Image={"Bytes": image}),
}


def megapixel_jpeg() -> bytes:
    image = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def load_times(models: Models) -> dict[str, float]:
    times = {}
    for model in models.all():
        started = time.perf_counter()
        with model.use():
            pass
        times[model.name] = time.perf_counter() - started
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    image = megapixel_jpeg()
    models = Models()
    print(f"image: 1024 x 1024 JPEG, {len(image) / 1024:.0f} KiB")
    for name, seconds in load_times(models).items():
        print(f"load {name:<12} {seconds * 1000:8.0f} ms")
    with start_server(models=models) as server:
        client = boto3.client(
            "rekognition",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        for name, call in CALLS.items():
            call(client, image)  # warm-up: first-call allocations are not counted
            samples = []
            for _ in range(args.runs):
                started = time.perf_counter()
                call(client, image)
                samples.append(time.perf_counter() - started)
            print(
                f"{name:<24} median {statistics.median(samples) * 1000:7.0f} ms"
                f"  (min {min(samples) * 1000:.0f}, max {max(samples) * 1000:.0f}, n={args.runs})"
            )


if __name__ == "__main__":
    main()
