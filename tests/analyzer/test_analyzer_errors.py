"""Rekognition's errors for bad images, bad parameters and unknown operations."""

import io
import socket
import urllib.parse
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image


def _error_code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return str(raised.value.response["Error"]["Code"])


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF", "WEBP"])
def test_formats_other_than_jpeg_and_png_are_invalid(rekognition: Any, encode: Any, image_format: str) -> None:
    image = encode(Image.new("RGB", (200, 200), "red"), image_format)

    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_labels(Image={"Bytes": image})


@pytest.mark.parametrize("data", [b"hello, this is not an image", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"])
def test_bytes_that_are_not_an_image_are_invalid(rekognition: Any, data: bytes) -> None:
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_text(Image={"Bytes": data})


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_truncated_images_are_invalid(rekognition: Any, samples: Any, encode: Any, image_format: str) -> None:
    whole = encode(Image.open(io.BytesIO(samples.chelsea)), image_format)

    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_faces(Image={"Bytes": whole[: len(whole) // 2]})


def test_empty_bytes_are_invalid(call_raw: Any) -> None:
    # botocore refuses empty bytes before sending, so this goes over the wire by hand.
    answer = call_raw("DetectLabels", {"Image": {"Bytes": ""}})

    assert (answer.status, answer.document["__type"]) == (400, "InvalidImageFormatException")


@pytest.mark.parametrize("size", [(79, 200), (200, 79), (10_001, 100), (100, 10_001)])
def test_sides_out_of_range_are_invalid_parameters(rekognition: Any, png_of_size: Any, size: tuple[int, int]) -> None:
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.detect_moderation_labels(Image={"Bytes": png_of_size(*size)})


@pytest.mark.parametrize("size", [(80, 80), (10_000, 80)])
def test_sides_at_the_limits_are_accepted(rekognition: Any, png_of_size: Any, size: tuple[int, int]) -> None:
    answer = rekognition.detect_moderation_labels(Image={"Bytes": png_of_size(*size)})

    assert answer["ModerationLabels"] == []


def test_more_than_5_mb_of_bytes_is_too_large(rekognition: Any, encode: Any) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (1400, 1400, 3), dtype=np.uint8)
    image = encode(Image.fromarray(noise), "PNG")
    assert len(image) > 5 * 1024 * 1024

    with pytest.raises(rekognition.exceptions.ImageTooLargeException):
        rekognition.detect_labels(Image={"Bytes": image})


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("detect_labels", {"MinConfidence": 101}),
        ("detect_moderation_labels", {"MinConfidence": 100.5}),
        ("detect_faces", {"Attributes": ["EVERYTHING"]}),
        ("detect_text", {"Filters": {"WordFilter": {"MinBoundingBoxHeight": 2}}}),
    ],
)
def test_bad_parameters_are_invalid(rekognition: Any, samples: Any, operation: str, params: dict[str, Any]) -> None:
    call = getattr(rekognition, operation)

    code = _error_code(call, Image={"Bytes": samples.chelsea}, **params)

    assert code == "InvalidParameterException"


def test_unknown_operation_is_answered_like_aws(rekognition: Any, samples: Any, post: Any, server: Any) -> None:
    code = _error_code(
        rekognition.compare_faces,
        SourceImage={"Bytes": samples.astronaut},
        TargetImage={"Bytes": samples.astronaut},
    )
    raw = post(server.url, "RekognitionService.NoSuchThing", b"{}")
    no_target = post(server.url, None, b"{}")

    assert code == "UnknownOperationException"
    assert (raw.status, raw.document["__type"]) == (400, "UnknownOperationException")
    assert no_target.document["__type"] == "UnknownOperationException"


def test_malformed_json_is_a_serialization_error(post: Any, server: Any) -> None:
    answer = post(server.url, "RekognitionService.DetectLabels", b"{not json")

    assert (answer.status, answer.document["__type"]) == (400, "SerializationException")


def test_image_needs_exactly_one_source(call_raw: Any) -> None:
    answer = call_raw("DetectText", {"Image": {}})

    assert answer.document["__type"] == "InvalidParameterException"


def test_bodies_beyond_32_mib_are_refused_unread(server: Any) -> None:
    address = urllib.parse.urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: RekognitionService.DetectLabels\r\n"
            b"Content-Length: 99999999999\r\n\r\n"
        )
        reply = connection.recv(65536).decode()

    assert reply.startswith("HTTP/1.1 400")
    assert "ImageTooLargeException" in reply
