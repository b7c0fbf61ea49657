"""What the domain needs from the outside world; adapters implement these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from image_pipeline.recognition.domain.features import FeatureSet
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.results.domain.records import ContentFingerprint, ImageRecord


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    version_id: str | None
    metadata: dict[str, str]


class ObjectStore(Protocol):
    def describe(self, ref: ObjectRef) -> ObjectInfo:
        """Size, ETag and metadata of exactly the object of the event; ObjectSuperseded when it is gone."""
        ...

    def read_range(self, ref: ObjectRef, first: int, last: int) -> bytes:
        """Bytes ``first..last`` (inclusive) of exactly that object."""
        ...

    def remove(self, ref: ObjectRef) -> None:
        """Exactly that object: its version in a versioned bucket, the key in a bucket without versions."""
        ...


@dataclass(frozen=True)
class Recognition:
    """What one pass over an image's features got: the results of those that succeeded, and why the others
    did not (held back by the quota, or a real fault)."""

    results: dict[str, Any]
    deferred: FeatureSet = frozenset()
    fault: Exception | None = None

    @property
    def complete(self) -> bool:
        return not self.deferred and self.fault is None


class Recognizer(Protocol):
    def analyze(self, ref: ObjectRef, features: FeatureSet) -> Recognition:
        """At most one paid call per feature on the S3 object; normalised results keyed by feature name.
        Raises ImageRejected when the image can never be analysed."""
        ...


class Requeue(Protocol):
    def put_back(self, body: str, deferrals: int, delay_seconds: int) -> None:
        """Sends ``body`` again as a new message (carrying ``deferrals``), visible after ``delay_seconds``."""
        ...


class ResultsRepository(Protocol):
    def get_image(self, image_id: str) -> ImageRecord | None: ...

    def acquire_lock(self, image_id: str, token: str, seconds: int) -> bool: ...

    def release_lock(self, image_id: str, token: str) -> None: ...

    def claim_upload(self, image_id: str, object_identity: str) -> bool:
        """The image's upload ticket is spent on this object: True when it was unspent or already this
        object's; False when another object spent it, or the image is gone."""
        ...

    def was_deleted(self, image_id: str) -> bool:
        """The image's owner deleted it (an upload for it may still land later)."""
        ...

    def find_reusable(self, content: ContentFingerprint) -> ImageRecord | None: ...

    def save(
        self, record: ImageRecord, *, previous: ImageRecord | None, content: ContentFingerprint | None, lock_token: str
    ) -> None:
        """Image item, label index items and content item in one transaction; releases the lock."""
        ...

    def mark_published(self, image_id: str) -> None:
        """Note the event as published; an image deleted meanwhile stays deleted."""
        ...

    def get_partial(self, image_id: str, object_identity: str) -> dict[str, Any]:
        """Results of the features already analysed for exactly this object (by an earlier, unfinished pass)."""
        ...

    def save_partial(self, image_id: str, object_identity: str, results: dict[str, Any], lock_token: str) -> None:
        """Keeps the results got so far, so that the next pass calls only the missing features."""
        ...


class EventPublisher(Protocol):
    def publish(self, event: dict[str, Any]) -> None: ...
