"""Validation before any paid call: format by magic bytes, size, dimensions, completeness.

Reads only the first bytes of the object (and its last ones), never the whole image.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from image_pipeline.shared.errors import ImageRejected

MAX_IMAGE_BYTES = 15 * 1024 * 1024  # Rekognition's limit for an image given as an S3 object
MIN_SIDE_PX = 80
MAX_SIDE_PX = 10_000
TAIL_BYTES = 1024
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG markers that carry the frame size (SOF0..SOF15 but DHT, JPG and DAC).
JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])
JPEG_START_OF_SCAN = 0xDA


@dataclass(frozen=True)
class ImageFacts:
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    size_bytes: int


class NeedMoreBytes(Exception):
    """The frame header lies beyond the bytes read so far."""


def check_size(size_bytes: int) -> None:
    if size_bytes == 0:
        raise ImageRejected("EMPTY_OBJECT", "the uploaded object has 0 bytes")
    if size_bytes > MAX_IMAGE_BYTES:
        raise ImageRejected(
            "IMAGE_TOO_LARGE", f"{size_bytes} bytes; Rekognition accepts at most {MAX_IMAGE_BYTES} bytes (15 MB)"
        )


def sniff_format(head: bytes) -> str:
    if head.startswith(JPEG_MAGIC):
        return "JPEG"
    if head.startswith(PNG_MAGIC):
        return "PNG"
    raise ImageRejected("UNSUPPORTED_FORMAT", "not a JPEG or PNG image (checked by its first bytes)")


def _png_dimensions(head: bytes) -> tuple[int, int]:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise ImageRejected("TRUNCATED_IMAGE", "the PNG header (IHDR) is missing or cut short")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _jpeg_dimensions(head: bytes, complete: bool) -> tuple[int, int]:
    offset = 2
    while True:
        if offset + 4 > len(head):
            break
        if head[offset] != 0xFF:
            raise ImageRejected("UNSUPPORTED_FORMAT", "the JPEG marker structure is corrupt")
        marker = head[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in JPEG_STANDALONE_MARKERS:
            offset += 2
            continue
        if marker == JPEG_START_OF_SCAN:
            raise ImageRejected("UNSUPPORTED_FORMAT", "the JPEG has no frame header before its image data")
        (length,) = struct.unpack(">H", head[offset + 2 : offset + 4])
        if marker in JPEG_SOF_MARKERS:
            if offset + 9 > len(head):
                break
            height, width = struct.unpack(">HH", head[offset + 5 : offset + 9])
            return width, height
        offset += 2 + length
    if complete:
        raise ImageRejected("TRUNCATED_IMAGE", "the JPEG ends before its frame header")
    raise NeedMoreBytes()


def read_dimensions(image_format: str, head: bytes, *, complete: bool) -> tuple[int, int]:
    """Width and height from the header; ``complete`` says ``head`` is the whole object."""
    if image_format == "PNG":
        return _png_dimensions(head)
    return _jpeg_dimensions(head, complete)


def check_dimensions(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE_PX:
        raise ImageRejected("IMAGE_TOO_SMALL", f"{width}x{height} px; each side must be at least {MIN_SIDE_PX} px")
    if max(width, height) > MAX_SIDE_PX:
        raise ImageRejected(
            "IMAGE_DIMENSIONS_TOO_LARGE", f"{width}x{height} px; each side must be at most {MAX_SIDE_PX} px"
        )


def check_complete(image_format: str, tail: bytes) -> None:
    """A JPEG ends with EOI (FFD9), a PNG with its IEND chunk; a cut upload has neither in its last bytes."""
    end_marker = b"\xff\xd9" if image_format == "JPEG" else b"IEND"
    if end_marker not in tail[-TAIL_BYTES:]:
        raise ImageRejected("TRUNCATED_IMAGE", f"the {image_format} data is cut short (no end marker)")
