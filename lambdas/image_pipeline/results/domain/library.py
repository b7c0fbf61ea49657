"""One owner's images: results, listings and label search, display links and deletion.

Every operation is scoped to the caller: an image of somebody else is reported exactly like an unknown one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from image_pipeline.results.domain.documents import results_key
from image_pipeline.results.domain.records import ImageRecord, Status, iso_seconds
from image_pipeline.shared.errors import NotFound
from image_pipeline.shared.page_tokens import decode_token, encode_token


@dataclass(frozen=True)
class ImageQuery:
    label: str | None = None
    min_confidence: float = 0.0
    status: Status | None = None
    limit: int = 20
    next_token: str | None = None


# A listing's page stops before its summaries pass this many bytes of JSON (Lambda answers at most 6 MB).
PAGE_BYTES = 1_000_000
# An image in a listing, with its position there (the index key a page that ends with it continues after).
Listed = tuple[ImageRecord, dict[str, Any]]


@dataclass(frozen=True)
class Page:
    """Summaries (``ImageRecord.summary()``), each with the image's filename; the next page's token."""

    items: list[dict[str, Any]]
    next_token: str | None


def summary_of(record: ImageRecord) -> dict[str, Any]:
    return {**record.summary(), "filename": record.extra.get("filename")}


def _json_bytes(value: dict[str, Any]) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


class ImageObjects(Protocol):
    def presign_display(self, *, key: str, version_id: str | None, expires_in: int) -> str: ...

    def remove(self, key: str) -> None:
        """The object under ``key`` and every version of it."""
        ...

    def holds(self, bucket: str, key: str) -> bool:
        """The object is one the pipeline stores (an upload), not a backfilled image's source, which belongs to its
        bucket's owner."""
        ...


class ImageCatalog(Protocol):
    def get_image(self, image_id: str) -> ImageRecord | None: ...

    def list_by_owner(
        self, owner: str, status: Status | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Listed], dict[str, Any] | None]:
        """Newest first; ``start``, each image's position and the returned key are the index's plain key values."""
        ...

    def list_by_label(
        self, owner: str, label: str, min_confidence: float, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Listed], dict[str, Any] | None]:
        """Most confident first."""
        ...

    def delete_image(self, record: ImageRecord) -> None:
        """The image item, its label items, its lock and the content pointer that names it."""
        ...


class ImageLibrary:
    def __init__(
        self, *, catalog: ImageCatalog, objects: ImageObjects, display_seconds: int, page_bytes: int = PAGE_BYTES
    ) -> None:
        self._catalog = catalog
        self._objects = objects
        self._display_seconds = display_seconds
        self._page_bytes = page_bytes

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
        summaries: list[dict[str, Any]] = []
        size = 0
        for index, (record, _) in enumerate(items):
            summary = summary_of(record)
            size += _json_bytes(summary) + 1
            if summaries and size > self._page_bytes:
                # Cut here: the next page continues with this image, exactly after the last one shown.
                return Page(items=summaries, next_token=encode_token(items[index - 1][1], scope))
            summaries.append(summary)
        return Page(items=summaries, next_token=encode_token(last, scope) if last else None)

    def display_url(self, owner: str, image_id: str) -> tuple[str, str]:
        record = self.get(owner, image_id)
        bucket, key = str(record.object.get("bucket", "")), str(record.object["key"])
        if not self._objects.holds(bucket, key):
            raise NotFound(f"image {image_id} was backfilled from s3://{bucket}/{key}: there is no display link for it")
        url = self._objects.presign_display(
            key=key,
            version_id=record.object.get("versionId"),
            expires_in=self._display_seconds,
        )
        return url, iso_seconds(time.time() + self._display_seconds)

    def delete(self, owner: str, image_id: str) -> None:
        record = self.get(owner, image_id)
        key = str(record.object["key"])
        # Only what the pipeline stores: a backfilled image's source object belongs to its bucket's owner.
        if self._objects.holds(str(record.object.get("bucket", "")), key):
            self._objects.remove(key)
        self._objects.remove(results_key(record.owner, record.image_id))  # a large result's document, if any
        self._catalog.delete_image(record)
