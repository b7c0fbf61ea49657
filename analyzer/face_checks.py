"""Faces the repository can make, with known answers: scikit-image's astronaut turned,
scaled and mirrored. Used by bench/face_landmarks.py (all variants) and the tests (a few).

Turning the photo by a known angle must change the measured roll by that angle and move
every landmark with it; scaling must scale them; mirroring must flip the sign of roll and
yaw and swap left and right. Landmark errors are in inter-ocular distances (the distance
between the eye centres), the usual normalisation of face-alignment benchmarks.
"""

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage import data

from analyzer.analysis import ImageAnalysis
from analyzer.face_details import FoundFace
from analyzer.images import Picture
from analyzer.models.registry import Models

Point = tuple[float, float]


@dataclass(frozen=True)
class Variant:
    """The astronaut turned counter-clockwise by ``degrees`` about the centre, then scaled."""

    degrees: float = 0.0
    scale: float = 1.0
    mirrored: bool = False

    def image(self) -> Image.Image:
        image = Image.fromarray(data.astronaut())  # type: ignore[no-untyped-call]
        if self.mirrored:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if self.degrees:
            image = image.rotate(self.degrees, resample=Image.Resampling.BICUBIC)
        if self.scale != 1.0:
            side = round(image.width * self.scale)
            image = image.resize((side, side), Image.Resampling.BICUBIC)
        return image

    def where(self, point: Point, side: int = 512) -> Point:
        """Where a point of the original photo lands in this variant (pixels)."""
        x, y = point
        if self.mirrored:
            x = side - 1 - x
        centre = side / 2
        # PIL turns counter-clockwise on screen, where y grows downwards.
        cos, sin = math.cos(math.radians(self.degrees)), math.sin(math.radians(self.degrees))
        dx, dy = x - centre, y - centre
        x, y = centre + dx * cos + dy * sin, centre - dx * sin + dy * cos
        return x * self.scale, y * self.scale


def the_face(variant: Variant, models: Models) -> FoundFace | None:
    """The most confident face found on the variant, if any."""
    found = ImageAnalysis(Picture(np.asarray(variant.image().convert("RGB"))), models).faces()
    return found[0] if found else None


def landmark_error(reference: FoundFace, variant: Variant, found: FoundFace) -> float:
    """Mean distance between the variant's 68 points and the reference's moved the same way,
    in the variant's inter-ocular distances. Mirroring swaps dlib's left and right points, so
    only unmirrored variants are compared point by point."""
    expected = [variant.where(point) for point in reference.shape.points]
    (lx, ly), (rx, ry) = found.shape.landmark("eyeLeft"), found.shape.landmark("eyeRight")
    ocular = math.hypot(rx - lx, ry - ly)
    distances = [math.hypot(x - ex, y - ey) for (x, y), (ex, ey) in zip(found.shape.points, expected, strict=True)]
    return sum(distances) / len(distances) / ocular
