"""The API's view of images: upload tickets, one owner's results, display links and deletion.

Every operation is scoped to the caller: an image of somebody else is reported exactly like an unknown one.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from image_pipeline.recognition.domain.features import FeatureSet, feature_key
from image_pipeline.recognition.domain.image_header import MAX_IMAGE_BYTES
from image_pipeline.results.domain.records import PENDING_EXPIRY, ImageRecord, Status, now_iso
from image_pipeline.shared.errors import InvalidRequest, NotFound
from image_pipeline.shared.page_tokens import decode_token, encode_token

CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png"}
# A PENDING item whose upload never arrives expires (DynamoDB TTL) this long after its upload link.
PENDING_GRACE_SECONDS = 24 * 3600
_SAFE_FILENAME = re.compile(r"[^\w .()+-]")


@dataclass(frozen=True)
class UploadTicket:
    image_id: str
    url: str
    fields: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class ImageQuery:
    label: str | None = None
    min_confidence: float = 0.0
    status: Status | None = None
    limit: int = 20
    next_token: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[ImageRecord]
    next_token: str | None


@dataclass(frozen=True)
class UploadPolicy:
    bucket: str
    prefix: str
    upload_seconds: int
    display_seconds: int
    default_features: FeatureSet


class UploadSigner(Protocol):
    def presign_upload(
        self, *, key: str, content_type: str, metadata: dict[str, str], max_bytes: int, expires_in: int
    ) -> tuple[str, dict[str, str]]:
        """A presigned POST whose policy pins the key, content type, size range and metadata."""
        ...

    def presign_display(self, *, key: str, version_id: str | None, expires_in: int) -> str: ...

    def remove(self, key: str) -> None:
        """The object under ``key`` and every version of it."""
        ...


class ImageCatalog(Protocol):
    def create_pending(self, record: ImageRecord) -> None: ...

    def get_image(self, image_id: str) -> ImageRecord | None: ...

    def list_by_owner(
        self, owner: str, status: Status | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[ImageRecord], dict[str, Any] | None]:
        """Newest first; ``start``/the returned key are the index's plain key values."""
        ...

    def list_by_label(
        self, owner: str, label: str, min_confidence: float, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[ImageRecord], dict[str, Any] | None]:
        """Most confident first."""
        ...

    def delete_image(self, record: ImageRecord) -> None:
        """The image item, its label items, its lock and the content pointer that names it."""
        ...


def clean_filename(filename: str) -> str:
    name = _SAFE_FILENAME.sub("_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    return name[:255] or "image"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ImageLibrary:
    def __init__(self, *, catalog: ImageCatalog, signer: UploadSigner, policy: UploadPolicy) -> None:
        self._catalog = catalog
        self._signer = signer
        self._policy = policy

    def create_upload(
        self, owner: str, *, filename: str, content_type: str, features: FeatureSet | None
    ) -> UploadTicket:
        extension = CONTENT_TYPES.get(content_type)
        if extension is None:
            raise InvalidRequest(f"contentType must be one of {', '.join(CONTENT_TYPES)}")
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
            extra={"filename": clean_filename(filename), PENDING_EXPIRY: int(expires) + PENDING_GRACE_SECONDS},
        )
        self._catalog.create_pending(record)
        metadata = {"owner": owner, "image-id": image_id, "features": feature_key(chosen).replace("+", ",")}
        url, fields = self._signer.presign_upload(
            key=key,
            content_type=content_type,
            metadata=metadata,
            max_bytes=MAX_IMAGE_BYTES,
            expires_in=self._policy.upload_seconds,
        )
        return UploadTicket(image_id=image_id, url=url, fields=fields, expires_at=_iso(expires))

    def get(self, owner: str, image_id: str) -> ImageRecord:
        record = self._catalog.get_image(image_id)
        if record is None or record.owner != owner:
            raise NotFound(f"no image {image_id}")
        return record

    def list(self, owner: str, query: ImageQuery) -> Page:
        if query.label:
            label = query.label.strip().lower()
            scope = f"label:{owner}:{label}:{query.min_confidence}"
            start = decode_token(query.next_token, scope) if query.next_token else None
            if query.status not in (None, Status.COMPLETED):
                return Page(items=[], next_token=None)  # only completed images have labels
            items, last = self._catalog.list_by_label(owner, label, query.min_confidence, query.limit, start)
        else:
            scope = f"owner:{owner}:{query.status or ''}"
            start = decode_token(query.next_token, scope) if query.next_token else None
            items, last = self._catalog.list_by_owner(owner, query.status, query.limit, start)
        return Page(items=items, next_token=encode_token(last, scope) if last else None)

    def display_url(self, owner: str, image_id: str) -> tuple[str, str]:
        record = self.get(owner, image_id)
        url = self._signer.presign_display(
            key=str(record.object["key"]),
            version_id=record.object.get("versionId"),
            expires_in=self._policy.display_seconds,
        )
        return url, _iso(time.time() + self._policy.display_seconds)

    def delete(self, owner: str, image_id: str) -> None:
        record = self.get(owner, image_id)
        self._signer.remove(str(record.object["key"]))
        self._catalog.delete_image(record)
