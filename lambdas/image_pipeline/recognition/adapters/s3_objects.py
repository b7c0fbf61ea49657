"""Reads object facts and byte ranges from S3, pinned to the version or ETag of the event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from image_pipeline.recognition.domain.ports import ObjectInfo
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.shared.errors import ObjectSuperseded

if TYPE_CHECKING:
    pass


GONE = frozenset({"404", "NoSuchKey", "NoSuchVersion", "412", "PreconditionFailed"})


class S3ObjectStore:
    def __init__(self, client: Any) -> None:
        self._s3 = client

    @staticmethod
    def _pin(ref: ObjectRef) -> dict[str, str]:
        pin = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            pin["VersionId"] = ref.version_id
        elif ref.etag:
            pin["IfMatch"] = f'"{ref.etag}"'
        return pin

    def _call(self, operation: str, ref: ObjectRef, **extra: str) -> dict[str, Any]:
        try:
            return getattr(self._s3, operation)(**self._pin(ref), **extra)  # type: ignore[no-any-return]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in GONE:
                raise ObjectSuperseded(f"s3://{ref.bucket}/{ref.key} is gone or was overwritten") from error
            raise

    def describe(self, ref: ObjectRef) -> ObjectInfo:
        head = self._call("head_object", ref)
        return ObjectInfo(
            size=int(head["ContentLength"]),
            etag=str(head["ETag"]).strip('"'),
            version_id=head.get("VersionId") if head.get("VersionId") not in (None, "null") else None,
            metadata={key.lower(): value for key, value in head.get("Metadata", {}).items()},
        )

    def read_range(self, ref: ObjectRef, first: int, last: int) -> bytes:
        response = self._call("get_object", ref, Range=f"bytes={first}-{last}")
        return response["Body"].read()  # type: ignore[no-any-return]

    def remove(self, ref: ObjectRef) -> None:
        target = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            target["VersionId"] = ref.version_id
        self._s3.delete_object(**target)
