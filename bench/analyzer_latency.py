"""Benchmark of the offline analyzer: model load times, and the five operations on one
image with the shared pass off and on, side by side in one run.

Run: ``python bench/analyzer_latency.py [--runs 5]``. It loads each model once (timed), then
for each mode starts the analyzer in-process on a free port and, for ``--runs`` images,
calls DetectLabels, DetectText, DetectFaces (ALL), DetectModerationLabels and
RecognizeCelebrities through boto3 on a new ~1 MP JPEG (scikit-image's astronaut, upscaled
to 1024 x 1024, one pixel changed per run so no two images are the same bytes). "off"
(``cached_images=0``) is how the analyzer worked before the shared pass: every operation
decodes the image and runs its models again; "on" is the default. Prints the median per
operation and for all five, wall-clock and CPU time of this process (the server runs in it,
so CPU time counts the work whatever else the machine is doing; on an idle 2-core machine
the wall-clock time lies between half of it and all of it). Figures depend on the machine;
nothing here asserts them.
"""

import argparse
import io
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import boto3
import numpy as np
from PIL import Image
from skimage import data

from analyzer.analysis import DEFAULT_MAX_IMAGES
from analyzer.models.registry import Models
from analyzer.server import ServerConfig, start_server

CALLS: dict[str, Callable[[Any, bytes], object]] = {
    "DetectLabels": lambda client, image: client.detect_labels(Image={"Bytes": image}),
    "DetectText": lambda client, image: client.detect_text(Image={"Bytes": image}),
    "DetectFaces (ALL)": lambda client, image: client.detect_faces(Image={"Bytes": image}, Attributes=["ALL"]),
    "DetectModerationLabels": lambda client, image: client.detect_moderation_labels(Image={"Bytes": image}),
    "RecognizeCelebrities": lambda client, image: client.recognize_celebrities(Image={"Bytes": image}),
}
MODES = {"off": 0, "on": DEFAULT_MAX_IMAGES}
ALL_FIVE = "all five on one image"
CPU = "all five: CPU time (all threads)"


def megapixel_jpeg(run: int) -> bytes:
    pixels = np.array(Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.BICUBIC))
    pixels[0, 0] = (run % 256, run // 256 % 256, 0)  # new bytes for every run
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def load_times(models: Models) -> dict[str, float]:
    times = {}
    for model in models.all():
        started = time.perf_counter()
        with model.use():
            pass
        times[model.name] = time.perf_counter() - started
    return times


def measure(models: Models, cached_images: int, images: list[bytes]) -> dict[str, list[float]]:
    samples: defaultdict[str, list[float]] = defaultdict(list)
    with start_server(ServerConfig(port=0, cached_images=cached_images), models=models) as server:
        client = boto3.client(
            "rekognition",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        for call in CALLS.values():
            call(client, megapixel_jpeg(10_000))  # warm-up: first-call allocations are not counted
        for image in images:
            total = 0.0
            cpu_started = time.process_time()
            for name, call in CALLS.items():
                started = time.perf_counter()
                call(client, image)
                elapsed = time.perf_counter() - started
                samples[name].append(elapsed)
                total += elapsed
            samples[ALL_FIVE].append(total)
            samples[CPU].append(time.process_time() - cpu_started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    images = [megapixel_jpeg(run) for run in range(args.runs)]
    models = Models()
    print(f"image: 1024 x 1024 JPEG, {len(images[0]) / 1024:.0f} KiB, {args.runs} images per mode")
    for name, seconds in load_times(models).items():
        print(f"load {name:<12} {seconds * 1000:8.0f} ms")
    results = {mode: measure(models, cached, images) for mode, cached in MODES.items()}
    print("\n| Operation | shared pass off (median) | shared pass on (median) |\n| --- | --- | --- |")
    for name in [*CALLS, ALL_FIVE, CPU]:
        cells = [f"{statistics.median(results[mode][name]):.2f} s" for mode in MODES]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
