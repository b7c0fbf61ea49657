"""The presigned POST an upload goes through (its policy pins key, content type, size range and metadata)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3UploadSigner:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def presign_upload(
        self, *, key: str, content_type: str, metadata: dict[str, str], max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        pinned = {"Content-Type": content_type, **{f"x-amz-meta-{name}": value for name, value in metadata.items()}}
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields=pinned,
            Conditions=[*({name: value} for name, value in pinned.items()), ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return str(post["url"]), {name: str(value) for name, value in post["fields"].items()}
