"""Full result documents kept as objects: what an event too large for the topic points to.

An ``image.analyzed`` event whose results pass ``MAX_EVENT_BYTES`` carries no results; the worker writes them
to ``results/<owner>/<image id>.json`` in the image bucket and the event carries a ``ResultsRef`` (key and
version, never a URL: events are stored and retried, URLs expire). The dispatcher mints a short-lived link
to exactly that version at each delivery attempt; deleting the image removes the object and every version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

RESULTS_PREFIX = "results/"


def results_key(owner: str, image_id: str) -> str:
    return f"{RESULTS_PREFIX}{owner}/{image_id}.json"


@dataclass(frozen=True)
class ResultsRef:
    key: str
    version_id: str | None = None

    def document(self) -> dict[str, str]:
        return {"key": self.key, **({"versionId": self.version_id} if self.version_id else {})}

    @classmethod
    def from_document(cls, document: object) -> ResultsRef | None:
        """None unless ``document`` names a key under the results prefix (an event from before, or a stray)."""
        if not isinstance(document, dict):
            return None
        key, version = document.get("key"), document.get("versionId")
        if not isinstance(key, str) or not key.startswith(RESULTS_PREFIX):
            return None
        return cls(key=key, version_id=version if isinstance(version, str) and version else None)


class ResultDocuments(Protocol):
    def put(self, owner: str, image_id: str, results: dict[str, Any]) -> ResultsRef:
        """Writes ``results`` as JSON under ``results_key(owner, image_id)`` (replacing what was there)."""
        ...
