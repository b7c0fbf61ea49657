"""Uploads: an image id, a PENDING result and a presigned POST whose policy pins key, type, size and metadata.

The upload itself goes straight to S3; its event starts the recognition flow (recognition/).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from image_pipeline.recognition.domain.features import FeatureSet, feature_key
from image_pipeline.recognition.domain.image_header import MAX_IMAGE_BYTES
from image_pipeline.results.domain.records import ImageRecord, Status, iso_seconds, now_iso
from image_pipeline.shared.errors import InvalidRequest
from image_pipeline.uploads.domain.quota import DailyQuota

CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png"}
# A PENDING image whose upload never arrives is forgotten this long after its upload link expires.
PENDING_GRACE_SECONDS = 24 * 3600
_SAFE_FILENAME = re.compile(r"[^\w .()+-]")


@dataclass(frozen=True)
class UploadTicket:
    image_id: str
    url: str
    fields: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class UploadPolicy:
    bucket: str
    prefix: str
    upload_seconds: int
    default_features: FeatureSet


class UploadSigner(Protocol):
    def presign_upload(
        self, *, key: str, content_type: str, metadata: dict[str, str], max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        """A presigned POST whose policy pins the key, content type, size range and metadata."""
        ...


class PendingImages(Protocol):
    def create_pending(self, record: ImageRecord) -> None: ...


def clean_filename(filename: str) -> str:
    name = _SAFE_FILENAME.sub("_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    return name[:255] or "image"


class Uploads:
    def __init__(
        self, *, pending: PendingImages, signer: UploadSigner, policy: UploadPolicy, quota: DailyQuota | None = None
    ) -> None:
        self._pending = pending
        self._signer = signer
        self._policy = policy
        self._quota = quota

    def create_upload(
        self, owner: str, *, filename: str, content_type: str, features: FeatureSet | None
    ) -> UploadTicket:
        extension = CONTENT_TYPES.get(content_type)
        if extension is None:
            raise InvalidRequest(f"contentType must be one of {', '.join(CONTENT_TYPES)}")
        if self._quota is not None:
            self._quota.charge(owner)
        chosen = features or self._policy.default_features
        image_id = str(uuid.uuid4())
        key = f"{self._policy.prefix}{owner}/{image_id}.{extension}"
        expires = time.time() + self._policy.upload_seconds
        now = now_iso()
        record = ImageRecord(
            image_id=image_id,
            owner=owner,
            status=Status.PENDING,
            created_at=now,
            updated_at=now,
            object={"bucket": self._policy.bucket, "key": key, "etag": None, "versionId": None},
            object_identity="",
            features=tuple(sorted(feature.value for feature in chosen)),
            extra={"filename": clean_filename(filename)},
            forget_after=int(expires) + PENDING_GRACE_SECONDS,
        )
        self._pending.create_pending(record)
        metadata = {"owner": owner, "image-id": image_id, "features": feature_key(chosen).replace("+", ",")}
        url, fields = self._signer.presign_upload(
            key=key,
            content_type=content_type,
            metadata=metadata,
            max_bytes=MAX_IMAGE_BYTES,
            expires_in=self._policy.upload_seconds,
        )
        return UploadTicket(image_id=image_id, url=url, fields=fields, expires_at=iso_seconds(expires))
