"""Shared fixtures: one analyzer server (and one moto S3) per test session, sample images.

Needs scikit-image (its sample photos ship in the wheel) and moto[server,s3].
"""

import base64
import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.model import Shape
from moto.server import ThreadedMotoServer
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from analyzer.server import RunningServer, start_server

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
OPERATIONS = (
    "DetectLabels",
    "DetectText",
    "DetectFaces",
    "DetectModerationLabels",
    "RecognizeCelebrities",
)


def _encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@dataclass(frozen=True)
class Samples:
    astronaut: bytes
    coffee: bytes
    chelsea: bytes
    text: bytes
    text_lines: tuple[str, ...]


@pytest.fixture(scope="session")
def samples() -> Samples:
    lines = ("HELLO WORLD 2026", "Serverless pipeline")
    canvas = Image.new("RGB", (640, 260), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=40)
    for row, line in enumerate(lines):
        draw.text((20, 40 + row * 100), line, fill="black", font=font)
    return Samples(
        astronaut=_encode(Image.fromarray(data.astronaut()), "JPEG"),
        coffee=_encode(Image.fromarray(data.coffee()), "JPEG"),
        chelsea=_encode(Image.fromarray(data.chelsea()), "PNG"),
        text=_encode(canvas, "PNG"),
        text_lines=lines,
    )


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_client(moto_s3: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", **CREDENTIALS)


@pytest.fixture(scope="session")
def server(s3_client: Any) -> Iterator[RunningServer]:
    with start_server(s3_client=s3_client) as running:
        yield running


def _rekognition_client(url: str) -> Any:
    """A real boto3 client; retries off so throttling answers reach the test."""
    return boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        **CREDENTIALS,
    )


@pytest.fixture(scope="session")
def make_client() -> Callable[[str], Any]:
    return _rekognition_client


@pytest.fixture(scope="session")
def rekognition(server: RunningServer) -> Any:
    return _rekognition_client(server.url)


@dataclass(frozen=True)
class RawResponse:
    status: int
    document: dict[str, Any]


def _post(url: str, target: str | None, body: bytes) -> RawResponse:
    """One request as the wire sees it, bypassing botocore's own validation."""
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return RawResponse(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, json.loads(error.read()))


@pytest.fixture(scope="session")
def post() -> Callable[[str, str | None, bytes], RawResponse]:
    return _post


@pytest.fixture(scope="session")
def call_raw(server: RunningServer) -> Callable[[str, dict[str, Any]], RawResponse]:
    def call(operation: str, params: dict[str, Any]) -> RawResponse:
        body = json.dumps(params).encode()
        return _post(server.url, f"RekognitionService.{operation}", body)

    return call


@pytest.fixture(scope="session")
def image_param() -> Callable[[bytes], dict[str, Any]]:
    return lambda image: {"Image": {"Bytes": base64.b64encode(image).decode()}}


def _shape_errors(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``shape``: members, required, types, enums, ranges."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        errors = [f"{path}.{key}: not in {shape.name}" for key in value if key not in shape.members]
        errors += [f"{path}.{key}: required" for key in meta.get("required", []) if key not in value]
        for key, member in shape.members.items():
            if key in value:
                errors += _shape_errors(value[key], member, f"{path}.{key}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        errors = []
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            errors.append(f"{path}: length {len(value)} out of range")
        for index, item in enumerate(value):
            errors += _shape_errors(item, shape.member, f"{path}[{index}]")
        return errors
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "long": (int,),
        "float": (int, float),
        "double": (int, float),
        "boolean": (bool,),
    }
    if kind not in expected:
        return [f"{path}: unexpected {kind}"]
    if not isinstance(value, expected[kind]) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if kind == "string":
        enum = shape.enum
        if enum and value not in enum:
            return [f"{path}: {value!r} not in {enum}"]
        return []
    if kind != "boolean" and not meta.get("min", value) <= value <= meta.get("max", value):
        return [f"{path}: {value} out of range"]
    return []


@pytest.fixture(scope="session")
def shape_errors() -> Callable[[str, dict[str, Any]], list[str]]:
    """How a raw JSON answer breaks the operation's output shape in botocore's model."""
    model = botocore.session.get_session().get_service_model("rekognition")

    def check(operation: str, document: dict[str, Any]) -> list[str]:
        shape = model.operation_model(operation).output_shape
        assert shape is not None
        return _shape_errors(document, shape)

    return check


@pytest.fixture(scope="session")
def encode() -> Callable[[Image.Image, str], bytes]:
    return _encode


@pytest.fixture(scope="session")
def png_of_size() -> Callable[[int, int], bytes]:
    def make(width: int, height: int) -> bytes:
        return _encode(Image.new("L", (width, height), 128), "PNG")

    return make
