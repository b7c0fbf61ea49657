"""Validation before any paid call: format by magic bytes, dimensions from the header, completeness."""

import pytest

from image_pipeline.recognition.domain import image_header
from image_pipeline.recognition.domain.image_header import NeedMoreBytes
from image_pipeline.shared.errors import ImageRejected
from tests.support.images import image_bytes, jpeg_with_large_exif


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_dimensions_are_read_from_the_header(fmt: str) -> None:
    # Given a real image
    data = image_bytes(321, 123, fmt)
    # When its header is read
    detected = image_header.sniff_format(data)
    width_height = image_header.read_dimensions(detected, data[:4096], complete=False)
    # Then format and size are right
    assert detected == fmt
    assert width_height == (321, 123)


@pytest.mark.parametrize(
    "data",
    [b"GIF89a" + b"\x00" * 100, b"BM" + b"\x00" * 100, b"hello, I am text", b"\x00\x00\x00\x0cftypheic"],
)
def test_anything_but_jpeg_or_png_is_an_unsupported_format(data: bytes) -> None:
    with pytest.raises(ImageRejected) as rejected:
        image_header.sniff_format(data)
    assert rejected.value.code == "UNSUPPORTED_FORMAT"


def test_a_png_extension_on_jpeg_bytes_is_judged_by_the_bytes() -> None:
    assert image_header.sniff_format(image_bytes(fmt="JPEG")) == "JPEG"


def test_a_jpeg_frame_header_beyond_the_bytes_read_asks_for_more() -> None:
    data = jpeg_with_large_exif()
    with pytest.raises(NeedMoreBytes):
        image_header.read_dimensions("JPEG", data[:4096], complete=False)
    assert image_header.read_dimensions("JPEG", data, complete=True) == (120, 100)


def test_a_jpeg_cut_before_its_frame_header_is_truncated() -> None:
    data = jpeg_with_large_exif()[:5000]
    with pytest.raises(ImageRejected) as rejected:
        image_header.read_dimensions("JPEG", data, complete=True)
    assert rejected.value.code == "TRUNCATED_IMAGE"


@pytest.mark.parametrize(
    ("width", "height", "code"),
    [(79, 500, "IMAGE_TOO_SMALL"), (500, 79, "IMAGE_TOO_SMALL"), (10_001, 80, "IMAGE_DIMENSIONS_TOO_LARGE")],
)
def test_sides_outside_80_to_10000_px_are_rejected(width: int, height: int, code: str) -> None:
    with pytest.raises(ImageRejected) as rejected:
        image_header.check_dimensions(width, height)
    assert rejected.value.code == code


@pytest.mark.parametrize(("width", "height"), [(80, 80), (10_000, 10_000)])
def test_sides_at_the_limits_are_accepted(width: int, height: int) -> None:
    image_header.check_dimensions(width, height)


@pytest.mark.parametrize(("size", "code"), [(0, "EMPTY_OBJECT"), (image_header.MAX_IMAGE_BYTES + 1, "IMAGE_TOO_LARGE")])
def test_empty_and_oversized_objects_are_rejected(size: int, code: str) -> None:
    with pytest.raises(ImageRejected) as rejected:
        image_header.check_size(size)
    assert rejected.value.code == code


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_complete_image_passes_and_a_cut_one_is_truncated(fmt: str) -> None:
    data = image_bytes(300, 300, fmt)
    image_header.check_complete(fmt, data[-image_header.TAIL_BYTES :])
    with pytest.raises(ImageRejected) as rejected:
        image_header.check_complete(fmt, data[: len(data) // 2][-image_header.TAIL_BYTES :])
    assert rejected.value.code == "TRUNCATED_IMAGE"
