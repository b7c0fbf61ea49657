"""One pass per image: decoded pixels and model outputs shared by every operation on it.

DetectLabels reads text and finds faces; DetectText, DetectFaces and RecognizeCelebrities
need the same again, DetectFaces and DetectModerationLabels both run NudeNet. An
:class:`ImageAnalysis` computes each of these at most once for one image, whichever
operation asks first, and :class:`AnalysisCache` keeps the analyses of the most recent
images, keyed by the SHA-256 of their bytes (so the same S3 object version, or the same
bytes sent inline, is decoded and analysed once), bounded in count and in pixel memory.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from analyzer.face_details import FoundFace, find_faces
from analyzer.images import Picture, decode
from analyzer.models.nudity import BodyPart
from analyzer.models.ocr import Line
from analyzer.models.registry import Models

T = TypeVar("T")
DEFAULT_MAX_IMAGES = 8
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""Decoded pixels kept at most (RGB, 3 bytes a pixel): about twenty 4 MP images."""


class ImageAnalysis:
    """An image's pixels and, lazily, each model's output on them, computed once.

    Thread-safe: two requests asking for the same output at once compute it once (the
    second waits for the first); different outputs are computed in parallel.
    """

    def __init__(self, picture: Picture, models: Models) -> None:
        self.picture = picture
        self.models = models
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._results: dict[str, Any] = {}

    def _once(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._results:
                self._results[key] = compute()
            return cast(T, self._results[key])

    def computed(self) -> frozenset[str]:
        """The outputs computed so far (for tests and benchmarks)."""
        with self._lock:
            return frozenset(self._results)

    def class_probabilities(self) -> npt.NDArray[np.float64]:
        def classify() -> npt.NDArray[np.float64]:
            with self.models.classifier.use() as model:
                return model.probabilities(self.picture)

        return self._once("classifier", classify)

    def class_names(self) -> list[str]:
        with self.models.classifier.use() as model:
            return model.names

    def body_parts(self) -> list[BodyPart]:
        def detect() -> list[BodyPart]:
            with self.models.nudity.use() as detector:
                return detector.detect(self.picture)

        return self._once("nudity", detect)

    def nsfw_score(self) -> float:
        def score() -> float:
            with self.models.nsfw.use() as scorer:
                return scorer.score(self.picture)

        return self._once("nsfw", score)

    def text_lines(self) -> list[Line]:
        def read() -> list[Line]:
            with self.models.text.use() as reader:
                return reader.read(self.picture)

        return self._once("text", read)

    def faces(self) -> list[FoundFace]:
        """Every face with its smile and landmarks (operations leave out what wasn't asked)."""
        return self._once("faces", lambda: find_faces(self.picture, self.models, self.body_parts()))


class AnalysisCache:
    """The analyses of recently seen images, least recently used first out.

    ``max_images=0`` keeps nothing: every request decodes and analyses its image afresh.
    """

    def __init__(
        self,
        models: Models,
        max_images: int = DEFAULT_MAX_IMAGES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        decoder: Callable[[bytes], Picture] = decode,
    ) -> None:
        self.models = models
        self._decode = decoder
        self.max_images = max_images
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, ImageAnalysis] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def analysis(self, data: bytes) -> ImageAnalysis:
        """The image's analysis; decoding (and its format and size checks) on a miss."""
        key = hashlib.sha256(data).digest()
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        fresh = ImageAnalysis(self._decode(data), self.models)
        with self._lock:
            # Another request may have decoded the same image meanwhile: keep the first.
            kept = self._entries.setdefault(key, fresh)
            if kept is fresh:
                self._bytes += fresh.picture.rgb.nbytes
                self._evict()
            return kept

    def _evict(self) -> None:
        while self._entries and (len(self._entries) > self.max_images or self._bytes > self.max_bytes):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.picture.rgb.nbytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def pixel_bytes(self) -> int:
        with self._lock:
            return self._bytes
