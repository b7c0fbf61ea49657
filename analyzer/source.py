"""Where a request's image comes from: ``Image.Bytes`` or ``Image.S3Object``."""

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from analyzer.errors import (
    ImageTooLargeException,
    InvalidParameterException,
    SerializationException,
)
from analyzer.s3 import S3ImageReader

MAX_IMAGE_BYTES = 5 * 1024 * 1024


class ImageSource:
    def __init__(self, s3: S3ImageReader) -> None:
        self._s3 = s3

    def fetch(self, params: Mapping[str, Any]) -> bytes:
        image = params.get("Image")
        if not isinstance(image, dict) or ("Bytes" in image) == ("S3Object" in image):
            raise InvalidParameterException("Image must have exactly one of Bytes or S3Object")
        if "Bytes" in image:
            return self._inline(image["Bytes"])
        return self._stored(image["S3Object"])

    @staticmethod
    def _inline(encoded: Any) -> bytes:
        if not isinstance(encoded, str):
            raise SerializationException("Image.Bytes must be a base64 string")
        try:
            data = base64.b64decode(encoded, validate=True)
        except binascii.Error as error:
            raise SerializationException("Image.Bytes is not valid base64") from error
        if len(data) > MAX_IMAGE_BYTES:
            raise ImageTooLargeException("Image size is too large: images passed as bytes may be at most 5 MB")
        return data

    def _stored(self, location: Any) -> bytes:
        if not isinstance(location, dict):
            raise InvalidParameterException("Image.S3Object must be an object")
        bucket, name, version = (location.get(k) for k in ("Bucket", "Name", "Version"))
        if not isinstance(bucket, str) or not isinstance(name, str):
            raise InvalidParameterException("Image.S3Object needs a Bucket and a Name")
        if version is not None and not isinstance(version, str):
            raise InvalidParameterException("Image.S3Object.Version must be a string")
        return self._s3.read(bucket, name, version)
