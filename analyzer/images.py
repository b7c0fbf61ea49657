"""Turn the bytes of a request's image into pixels, with Rekognition's checks."""

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from analyzer.errors import InvalidImageFormatException, InvalidParameterException

MIN_SIDE = 80
MAX_SIDE = 10_000
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


@dataclass(frozen=True)
class Picture:
    """A decoded image: RGB pixels, height x width x 3, uint8."""

    rgb: npt.NDArray[np.uint8]

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def bgr(self) -> npt.NDArray[np.uint8]:
        """The same pixels in OpenCV's channel order."""
        return np.ascontiguousarray(self.rgb[:, :, ::-1])


def _format_from_magic(data: bytes) -> str:
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    raise InvalidImageFormatException("Request has invalid image format")


def decode(data: bytes) -> Picture:
    """Check the format and the size of each side, then decode to RGB.

    Only JPEG and PNG pass (by their magic bytes and by the decoder's own view); each
    side must be 80..10,000 px. Truncated or corrupt data is an invalid format.
    """
    expected = _format_from_magic(data)
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as error:
        raise InvalidImageFormatException("Request has invalid image format") from error
    with image:
        if image.format != expected:
            raise InvalidImageFormatException("Request has invalid image format")
        width, height = image.size
        if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
            raise InvalidParameterException(
                f"Image dimensions {width}x{height} are out of range: each side must "
                f"be between {MIN_SIDE} and {MAX_SIDE} pixels"
            )
        try:
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError) as error:
            raise InvalidImageFormatException("Request has invalid image format") from error
    return Picture(rgb)
