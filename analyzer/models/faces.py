"""Faces, eyes and smiles: OpenCV's Haar cascades, shipped in opencv-python-headless 4.x."""

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from analyzer.geometry import PixelBox
from analyzer.images import Picture

VERSION = f"OpenCV-{cv2.__version__}-haarcascade_frontalface_default"
_DETECTION_SIDE = 1024


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

    @property
    def roll(self) -> float | None:
        """Degrees of head tilt from the line through both eyes."""
        if len(self.eyes) != 2:
            return None
        (x1, y1), (x2, y2) = self.eyes
        return math.degrees(math.atan2(y2 - y1, x2 - x1))


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

    def detect(self, picture: Picture) -> list[Face]:
        gray: npt.NDArray[np.uint8] = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)  # type: ignore[assignment]
        scale = min(1.0, _DETECTION_SIDE / max(gray.shape))
        small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale)
        small = cv2.equalizeHist(small)
        boxes, _, weights = self._faces.detectMultiScale3(
            small,
            scaleFactor=1.1,
            minNeighbors=5,
            minSize=(24, 24),
            outputRejectLevels=True,
        )
        faces = []
        for (x, y, w, h), weight in zip(boxes, weights, strict=True):
            box = PixelBox(x / scale, y / scale, w / scale, h / scale)
            faces.append(Face(box, _confidence(float(weight)), self._find_eyes(gray, box)))
        return sorted(faces, key=lambda face: -face.confidence)

    def _find_eyes(self, gray: npt.NDArray[np.uint8], face: PixelBox) -> tuple[tuple[float, float], ...]:
        left, top = int(face.left), int(face.top)
        upper = gray[top : top + int(face.height * 0.6), left : left + int(face.width)]
        size = max(8, int(face.width / 8))
        found = self._eyes.detectMultiScale(upper, 1.1, 5, minSize=(size, size))
        middle = face.width / 2
        centres = [(x + w / 2, y + h / 2, w * h) for x, y, w, h in found]
        left_eyes = [c for c in centres if c[0] < middle]
        right_eyes = [c for c in centres if c[0] >= middle]
        if not left_eyes or not right_eyes:
            return ()
        pair = (max(left_eyes, key=lambda c: c[2]), max(right_eyes, key=lambda c: c[2]))
        return tuple((left + x, top + y) for x, y, _ in pair)

    def smile(self, picture: Picture, face: Face) -> Smile:
        """Looks for a smile in the lower half of the face with the smile cascade."""
        gray = cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY)
        box = face.box
        top = int(box.top + box.height / 2)
        lower = gray[top : int(box.top + box.height), int(box.left) : int(box.left + box.width)]
        size = max(8, int(box.width / 4))
        found, _, weights = self._smiles.detectMultiScale3(
            lower, 1.7, 20, minSize=(size, size // 2), outputRejectLevels=True
        )
        if len(found) == 0:
            return Smile(False, 50.0)
        return Smile(True, _confidence(float(max(weights))))
