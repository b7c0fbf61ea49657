"""Boxes and points in Rekognition's form: ratios of the image's width and height."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PixelBox:
    """An axis-aligned box in pixels."""

    left: float
    top: float
    width: float
    height: float

    def intersection_over_union(self, other: "PixelBox") -> float:
        left = max(self.left, other.left)
        top = max(self.top, other.top)
        right = min(self.left + self.width, other.left + other.width)
        bottom = min(self.top + self.height, other.top + other.height)
        overlap = max(0.0, right - left) * max(0.0, bottom - top)
        union = self.width * self.height + other.width * other.height - overlap
        return overlap / union if union > 0 else 0.0


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def bounding_box(box: PixelBox, width: int, height: int) -> dict[str, Any]:
    """A ``BoundingBox`` shape, clipped to the image."""
    left = _clip(box.left / width)
    top = _clip(box.top / height)
    return {
        "Width": _clip((box.left + box.width) / width) - left,
        "Height": _clip((box.top + box.height) / height) - top,
        "Left": left,
        "Top": top,
    }


def point(x: float, y: float, width: int, height: int) -> dict[str, Any]:
    """A ``Point`` shape (also the X and Y of a ``Landmark``)."""
    return {"X": _clip(x / width), "Y": _clip(y / height)}


def enclosing_box(points: Sequence[Sequence[float]]) -> PixelBox:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return PixelBox(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
