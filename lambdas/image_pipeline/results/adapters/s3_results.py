"""Result documents as JSON objects in the image bucket, under the results prefix."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from image_pipeline.results.domain.documents import ResultsRef, results_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3ResultDocuments:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, owner: str, image_id: str, results: dict[str, Any]) -> ResultsRef:
        key = results_key(owner, image_id)
        body = json.dumps(results, separators=(",", ":"), ensure_ascii=False).encode()
        answer = self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        version = answer.get("VersionId")
        return ResultsRef(key=key, version_id=version if version and version != "null" else None)
