"""The stored result (schema version 1, docs/result-schema.md) and its table items.

Keys (one table, generic names):
- image:   pk=IMAGE#<id>  sk=IMAGE          gsi1 (ByOwner):      OWNER#<owner> / <createdAt>#<id>
- label:   pk=IMAGE#<id>  sk=LABEL#<name>
           gsi2 (ByOwnerLabel): OWNER#<owner>#LABEL#<name> / <confidence>#<createdAt>#<id>
- lock:    pk=IMAGE#<id>  sk=LOCK           (expires, TTL)
- content: pk=CONTENT#<owner>#<etag>#<size>#<features>  sk=CONTENT  -> the owner's image whose analysis can be reused
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from image_pipeline.recognition.domain.image_header import ImageFacts

SCHEMA_VERSION = 1
# Label items are written in the same transaction as their image (at most 100 items): the index holds
# the most confident labels of an image, up to this many.
MAX_INDEXED_LABELS = 45
IMAGE_SK = "IMAGE"
LOCK_SK = "LOCK"
CONTENT_SK = "CONTENT"
# Left by a delete under the image's key: an upload that lands later (its presigned POST is still valid)
# is not analysed and does not bring the image back.
DELETED_SK = "DELETED"
# The table's TTL attribute. The API sets it on a PENDING image so that an upload that never comes is
# forgotten; a finished result drops it and is kept.
PENDING_EXPIRY = "expiresAt"


class Status(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def image_pk(image_id: str) -> str:
    return f"IMAGE#{image_id}"


def owner_pk(owner: str) -> str:
    return f"OWNER#{owner}"


def label_pk(owner: str, label: str) -> str:
    return f"OWNER#{owner}#LABEL#{label.lower()}"


def confidence_sort_key(confidence: float) -> str:
    """Zero-padded so that string order is numeric order: ``097.125``."""
    return f"{confidence:07.3f}"


def content_pk(owner: str, etag: str, size_bytes: int, features: str) -> str:
    """Per owner: an analysis reused across owners would tell one user that another has the same image."""
    return f"CONTENT#{owner}#{etag}#{size_bytes}#{features}"


@dataclass(frozen=True)
class ImageRecord:
    image_id: str
    owner: str
    status: Status
    created_at: str
    updated_at: str
    object: dict[str, str | None]
    object_identity: str
    features: tuple[str, ...]
    image: ImageFacts | None = None
    results: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    reused_from: str | None = None
    event_published: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def document(self) -> dict[str, Any]:
        """The result as the API returns it and the events carry it."""
        doc: dict[str, Any] = {
            "schemaVersion": SCHEMA_VERSION,
            "imageId": self.image_id,
            "owner": self.owner,
            "status": self.status.value,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "object": self.object,
            "features": list(self.features),
        }
        if self.image is not None:
            doc["image"] = {
                "format": self.image.format,
                "width": self.image.width,
                "height": self.image.height,
                "sizeBytes": self.image.size_bytes,
            }
        if self.results is not None:
            doc["results"] = self.results
        if self.error is not None:
            doc["error"] = self.error
        if self.reused_from is not None:
            doc["reusedFrom"] = self.reused_from
        return doc

    def labels(self) -> list[dict[str, Any]]:
        return list((self.results or {}).get("labels", []))


def image_item(record: ImageRecord) -> dict[str, Any]:
    extra = {key: value for key, value in record.extra.items() if not (record.is_terminal and key == PENDING_EXPIRY)}
    return {
        **extra,
        **record.document(),
        "pk": image_pk(record.image_id),
        "sk": IMAGE_SK,
        "gsi1pk": owner_pk(record.owner),
        "gsi1sk": f"{record.created_at}#{record.image_id}",
        "objectIdentity": record.object_identity,
        "eventPublished": record.event_published,
    }


def indexed_labels(record: ImageRecord) -> list[dict[str, Any]]:
    """The labels that get an index item: the most confident first, each name once."""
    seen: set[str] = set()
    chosen = []
    for label in sorted(record.labels(), key=lambda item: -item["confidence"]):
        if label["name"].lower() not in seen:
            seen.add(label["name"].lower())
            chosen.append(label)
    return chosen[:MAX_INDEXED_LABELS]


def label_items(record: ImageRecord) -> list[dict[str, Any]]:
    return [
        {
            "pk": image_pk(record.image_id),
            "sk": f"LABEL#{label['name'].lower()}",
            "gsi2pk": label_pk(record.owner, label["name"]),
            "gsi2sk": f"{confidence_sort_key(label['confidence'])}#{record.created_at}#{record.image_id}",
            "imageId": record.image_id,
            "owner": record.owner,
            "label": label["name"],
            "confidence": label["confidence"],
            "createdAt": record.created_at,
        }
        for label in indexed_labels(record)
    ]


def _facts(image: dict[str, Any]) -> ImageFacts:
    return ImageFacts(
        format=image["format"],
        width=int(image["width"]),
        height=int(image["height"]),
        size_bytes=int(image["sizeBytes"]),
    )


def record_from_item(item: dict[str, Any]) -> ImageRecord:
    image = item.get("image")
    record = ImageRecord(
        image_id=item["imageId"],
        owner=item["owner"],
        status=Status(item["status"]),
        created_at=item["createdAt"],
        updated_at=item.get("updatedAt", item["createdAt"]),
        object=item.get("object", {}),
        object_identity=item.get("objectIdentity", ""),
        features=tuple(item.get("features", ())),
        image=_facts(image) if image else None,
        results=item.get("results"),
        error=item.get("error"),
        reused_from=item.get("reusedFrom"),
        event_published=bool(item.get("eventPublished", False)),
    )
    # Attributes this module does not write (e.g. set by another writer of the item) are kept as they are.
    own = image_item(record)
    return replace(record, extra={key: value for key, value in item.items() if key not in own})
