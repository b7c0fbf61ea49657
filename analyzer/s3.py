"""Read an image named by ``Image.S3Object`` through an injected S3 client."""

from collections.abc import Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from analyzer.errors import ImageTooLargeException, InvalidS3ObjectException

MAX_S3_OBJECT_BYTES = 15 * 1024 * 1024


class S3Client(Protocol):
    """The one call of boto3's S3 client that the reader makes."""

    def get_object(self, *, Bucket: str, Key: str, VersionId: str = ...) -> Mapping[str, Any]: ...  # noqa: N803


class S3ImageReader:
    """Fetches object bytes; every S3 failure becomes ``InvalidS3ObjectException``."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def read(self, bucket: str, key: str, version: str | None = None) -> bytes:
        try:
            if version is None:
                response = self._client.get_object(Bucket=bucket, Key=key)
            else:
                response = self._client.get_object(Bucket=bucket, Key=key, VersionId=version)
        except (ClientError, BotoCoreError) as error:
            raise InvalidS3ObjectException(
                "Unable to get object metadata from S3. Check object key, region and/or access permissions."
            ) from error
        body = response["Body"]
        with body:
            if response["ContentLength"] > MAX_S3_OBJECT_BYTES:
                raise ImageTooLargeException("Image size is too large: S3 objects may be at most 15 MB")
            data: bytes = body.read()
            return data
