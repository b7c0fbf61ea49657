"""Faces, eyes and smiles: OpenCV's Haar cascades, shipped in opencv-python-headless 4.x.

The face cascade alone finds many false faces in textures (coins, the moon), so a face
counts fully only when the eye cascade finds both eyes in it or another detector saw a face
in the same place; faces that only the other detector saw are added with its confidence.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from analyzer.geometry import PixelBox
from analyzer.images import Picture

VERSION = f"OpenCV-{cv2.__version__}-haarcascade_frontalface_default"
_DETECTION_SIDE = 1024
_PART_WIDTH = 256
SAME_FACE_IOU = 0.3
"""Two boxes overlapping at least this much (intersection over union) are one face."""
_UNCONFIRMED = 0.5
"""Factor on the confidence of a cascade face with neither both eyes nor a second opinion."""


@dataclass(frozen=True)
class Sighting:
    """A face found by another detector, with its confidence (0..100)."""

    box: PixelBox
    confidence: float


@dataclass(frozen=True)
class Smile:
    value: bool
    confidence: float


@dataclass(frozen=True)
class Face:
    box: PixelBox
    confidence: float
    eyes: tuple[tuple[float, float], ...]
    """Centres of the two eyes, left to right in the image, or nothing."""
    smile: Smile | None = None


def _confidence(weight: float) -> float:
    """A cascade's final-stage weight squashed to 0..100 (a ranking, not a calibration)."""
    return 100.0 / (1.0 + math.exp(-weight))


def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if cascade.empty():
        raise RuntimeError(f"OpenCV has no {name}")
    return cascade


class FaceDetector:
    def __init__(self) -> None:
        self._faces = _cascade("haarcascade_frontalface_default.xml")
        self._eyes = _cascade("haarcascade_eye.xml")
        self._smiles = _cascade("haarcascade_smile.xml")

    def detect(self, picture: Picture, with_smile: bool = False, sightings: Sequence[Sighting] = ()) -> list[Face]:
        gray: npt.NDArray[np.uint8] = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)  # type: ignore[assignment]
        scale = min(1.0, _DETECTION_SIDE / max(gray.shape))
        small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale)
        boxes, _, weights = self._faces.detectMultiScale3(
            cv2.equalizeHist(small),
            scaleFactor=1.1,
            minNeighbors=5,
            minSize=(24, 24),
            outputRejectLevels=True,
        )
        found = [
            Sighting(PixelBox(x / scale, y / scale, w / scale, h / scale), _confidence(float(weight)))
            for (x, y, w, h), weight in zip(boxes, weights, strict=True)
        ]
        faces = []
        for face in found:
            eyes = self._eyes_in(gray, face.box)
            seen = any(face.box.intersection_over_union(other.box) >= SAME_FACE_IOU for other in sightings)
            confidence = face.confidence if seen or len(eyes) == 2 else face.confidence * _UNCONFIRMED
            faces.append(self._face(gray, face.box, confidence, eyes, with_smile))
        for other in sightings:
            if all(other.box.intersection_over_union(face.box) < SAME_FACE_IOU for face in found):
                faces.append(self._face(gray, other.box, other.confidence, self._eyes_in(gray, other.box), with_smile))
        return sorted(faces, key=lambda face: -face.confidence)

    def _face(
        self,
        gray: npt.NDArray[np.uint8],
        box: PixelBox,
        confidence: float,
        eyes: tuple[tuple[float, float], ...],
        with_smile: bool,
    ) -> Face:
        return Face(box, confidence, eyes, self._smile(gray, box) if with_smile else None)

    def _eyes_in(self, gray: npt.NDArray[np.uint8], face: PixelBox) -> tuple[tuple[float, float], ...]:
        """The largest eye on each side of the face's upper 60%, or nothing."""
        part = _Part(gray, face, 0.0, 0.6)
        found = self._eyes.detectMultiScale(part.pixels, 1.1, 5, minSize=(_PART_WIDTH // 8,) * 2)
        middle = _PART_WIDTH / 2
        centres = [(x + w / 2, y + h / 2, w * h) for x, y, w, h in found]
        left_eyes = [c for c in centres if c[0] < middle]
        right_eyes = [c for c in centres if c[0] >= middle]
        if not left_eyes or not right_eyes:
            return ()
        pair = (max(left_eyes, key=lambda c: c[2]), max(right_eyes, key=lambda c: c[2]))
        return tuple(part.to_image(x, y) for x, y, _ in pair)

    def _smile(self, gray: npt.NDArray[np.uint8], face: PixelBox) -> Smile:
        """The smile cascade on the lower half of the face."""
        part = _Part(gray, face, 0.5, 1.0)
        found, _, weights = self._smiles.detectMultiScale3(
            part.pixels, 1.7, 20, minSize=(_PART_WIDTH // 4, _PART_WIDTH // 8), outputRejectLevels=True
        )
        if len(found) == 0:
            return Smile(False, 50.0)
        return Smile(True, _confidence(float(max(weights))))


class _Part:
    """A horizontal band of a face, rescaled to ``_PART_WIDTH`` px wide for the cascades."""

    def __init__(self, gray: npt.NDArray[np.uint8], face: PixelBox, start: float, end: float) -> None:
        self.left = int(face.left)
        self.top = int(face.top + face.height * start)
        band = gray[self.top : int(face.top + face.height * end), self.left : int(face.left + face.width)]
        self.scale = _PART_WIDTH / band.shape[1]
        self.pixels = cv2.resize(band, None, fx=self.scale, fy=self.scale)

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        return (self.left + x / self.scale, self.top + y / self.scale)
