"""The parts of a face description that DetectFaces and RecognizeCelebrities share."""

import math
from typing import Any

import cv2
import numpy as np

from analyzer.geometry import bounding_box, point
from analyzer.images import Picture
from analyzer.models.faces import Face


def _quality(picture: Picture, face: Face) -> dict[str, float]:
    """Brightness: mean luminance of the face, 0..100. Sharpness: 100 * (1 - e^(-v/500))
    for v the variance of the face's Laplacian. Pixel statistics, not a learned model."""
    box = face.box
    crop = picture.rgb[
        int(box.top) : int(box.top + box.height),
        int(box.left) : int(box.left + box.width),
    ]
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    variance = float(np.var(cv2.Laplacian(gray, cv2.CV_64F)))
    return {
        "Brightness": float(gray.mean()) / 255 * 100,
        "Sharpness": 100 * (1 - math.exp(-variance / 500)),
    }


def describe(picture: Picture, face: Face) -> dict[str, Any]:
    """BoundingBox, Confidence, Landmarks (both eyes, when found), Pose (Roll only, from
    the eyes) and Quality."""
    width, height = picture.width, picture.height
    detail: dict[str, Any] = {
        "BoundingBox": bounding_box(face.box, width, height),
        "Confidence": face.confidence,
        "Landmarks": [
            {"Type": kind, **point(x, y, width, height)}
            for kind, (x, y) in zip(("eyeLeft", "eyeRight"), face.eyes, strict=False)
        ],
        "Quality": _quality(picture, face),
    }
    if face.roll is not None:
        detail["Pose"] = {"Roll": face.roll}
    return detail
