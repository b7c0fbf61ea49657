"""One local mode per test session, started from the synthesized dev app; tests read only its outputs file.

Set E2E_OUTPUTS_FILE (with E2E_USERNAME / E2E_PASSWORD) to run the same tests against a deployment.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from local.tools.client import AppClient
from tests.support.local_process import LocalProcess
from tests.support.synth import synthesize

TEXT_LINES = ("HELLO WORLD 2026", "Serverless pipeline")


@pytest.fixture(scope="session")
def outputs_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("E2E_OUTPUTS_FILE")
    if given:
        yield Path(given)
        return
    assembly = synthesize("dev").outdir
    local = LocalProcess(assembly, tmp_path_factory.mktemp("local-mode"))
    local.wait_ready()
    yield local.outputs_file
    local.stop()


@pytest.fixture(scope="session")
def client(outputs_file: Path) -> AppClient:
    client = AppClient.from_file(outputs_file, os.environ.get("E2E_USERNAME"), os.environ.get("E2E_PASSWORD"))
    client.sign_in()
    return client


def encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """Real photographs (scikit-image ships them in its wheel) and a page of printed text."""
    canvas = Image.new("RGB", (640, 260), "white")
    draw = ImageDraw.Draw(canvas)
    for row, line in enumerate(TEXT_LINES):
        draw.text((20, 40 + row * 100), line, fill="black", font=ImageFont.load_default(size=40))
    return {
        "cat.jpg": encode(Image.fromarray(data.chelsea()), "JPEG"),
        "coffee.png": encode(Image.fromarray(data.coffee()), "PNG"),
        "text.png": encode(canvas, "PNG"),
    }
