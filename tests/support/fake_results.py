"""The results repository in memory (the port ImageAnalysis writes through), for unit tests and the simulation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from image_pipeline.results.domain.records import ContentFingerprint, ImageRecord, Status


@dataclass
class FakeResults:
    images: dict[str, ImageRecord] = field(default_factory=dict)
    content: dict[ContentFingerprint, str] = field(default_factory=dict)
    locks: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    partials: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def get_image(self, image_id: str) -> ImageRecord | None:
        return self.images.get(image_id)

    def acquire_lock(self, image_id: str, token: str, seconds: int) -> bool:
        return self.locks.setdefault(image_id, token) == token

    def release_lock(self, image_id: str, token: str) -> None:
        if self.locks.get(image_id) == token:
            del self.locks[image_id]

    def claim_upload(self, image_id: str, object_identity: str) -> bool:
        image = self.images.get(image_id)
        if image is None or image.object_identity not in ("", object_identity):
            return False
        self.images[image_id] = replace(image, object_identity=object_identity)
        return True

    def was_deleted(self, image_id: str) -> bool:
        return image_id in self.deleted

    def find_reusable(self, content: ContentFingerprint) -> ImageRecord | None:
        image_id = self.content.get(content)
        return self.images.get(image_id) if image_id else None

    def save(
        self, record: ImageRecord, *, previous: ImageRecord | None, content: ContentFingerprint | None, lock_token: str
    ) -> None:
        self.images[record.image_id] = record
        self.partials.pop(record.image_id, None)
        if content and record.status is Status.COMPLETED and record.reused_from is None:
            self.content[content] = record.image_id
        self.release_lock(record.image_id, lock_token)

    def mark_published(self, image_id: str) -> None:
        if image_id in self.images:  # like the table's conditional update: a deleted image stays deleted
            self.images[image_id] = replace(self.images[image_id], event_published=True)

    def get_partial(self, image_id: str, object_identity: str) -> dict[str, Any]:
        identity, results = self.partials.get(image_id, ("", {}))
        return dict(results) if identity == object_identity else {}

    def save_partial(self, image_id: str, object_identity: str, results: dict[str, Any], lock_token: str) -> None:
        self.partials[image_id] = (object_identity, dict(results))
