"""The image bucket seen from the results: short-lived display links (GET) and removal of every version."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

# DeleteObjects takes up to 1,000 keys per call.
_DELETE_BATCH = 1000


class S3ImageObjects:
    def __init__(self, client: S3Client, bucket: str, upload_prefix: str | None = None) -> None:
        """``upload_prefix``: where the objects the pipeline stores (and may remove) live; None for a caller
        that only reads (the dispatcher's result links): it holds nothing."""
        self._s3 = client
        self._bucket = bucket
        self._upload_prefix = upload_prefix

    def holds(self, bucket: str, key: str) -> bool:
        return self._upload_prefix is not None and bucket == self._bucket and key.startswith(self._upload_prefix)

    def presign_display(self, *, key: str, version_id: str | None, expires_in: int) -> str:
        params = {"Bucket": self._bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        return str(self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))

    def remove(self, key: str) -> None:
        """Every version and delete marker of ``key`` (a versioned bucket keeps old versions otherwise)."""
        doomed: list[ObjectIdentifierTypeDef] = []
        for page in self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=key):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry["Key"] == key:
                    doomed.append({"Key": key, "VersionId": entry["VersionId"]})
        for first in range(0, len(doomed), _DELETE_BATCH):
            batch = doomed[first : first + _DELETE_BATCH]
            response = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                raise RuntimeError(f"could not delete every version of s3://{self._bucket}/{key}: {response['Errors']}")
