"""The stored result (schema version 1, docs/result-schema.md): what the pipeline knows about one image.

How it is laid out in the results table is the table adapter's business (results/adapters/results_table.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from image_pipeline.recognition.domain.image_header import ImageFacts

SCHEMA_VERSION = 1
# A listing's summary names this many of an image's labels, the most confident first.
SUMMARY_LABELS = 5


class Status(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED})


def iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    # PENDING only: when (epoch seconds) an image whose upload never came is forgotten; a result is kept.
    forget_after: int | None = None
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

    def summary(self) -> dict[str, Any]:
        """What a listing shows of the result: small and bounded whatever the image holds (the full result
        is ``document()``): top labels, how many findings per feature, whether moderation flagged it."""
        doc = self.document()
        for heavy in ("results", "object", "owner"):
            doc.pop(heavy, None)
        results = self.results or {}
        top = sorted(self.labels(), key=lambda label: -float(label.get("confidence", 0.0)))[:SUMMARY_LABELS]
        doc["topLabels"] = [{"name": label["name"], "confidence": label["confidence"]} for label in top]
        doc["counts"] = {feature: _findings(feature, found) for feature, found in results.items()}
        doc["moderationFlagged"] = bool((results.get("moderation") or {}).get("unsafe", False))
        return doc

    def labels(self) -> list[dict[str, Any]]:
        return list((self.results or {}).get("labels", []))


def _findings(feature: str, found: Any) -> int:
    """How many things a feature found: labels, text lines, faces, moderation labels, celebrities."""
    if isinstance(found, list):
        return len(found)
    if isinstance(found, dict):
        listed = {"text": "lines", "moderation": "labels", "celebrities": "celebrities"}.get(feature, "")
        return len(found.get(listed, []))
    return 0


@dataclass(frozen=True)
class ContentFingerprint:
    """What makes two uploads the same content for one owner: an analysis of one can serve the other.
    Per owner: an analysis reused across owners would tell one user that another has the same image."""

    owner: str
    etag: str
    size_bytes: int
    features: str
