"""Finding and describing faces, shared by DetectFaces, RecognizeCelebrities, DetectLabels."""

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from analyzer.geometry import bounding_box, point
from analyzer.images import Picture
from analyzer.models.faces import SAME_FACE_IOU, Face, Sighting
from analyzer.models.nudity import BodyPart
from analyzer.models.registry import Models

GENDERS = {"FACE_FEMALE": "Female", "FACE_MALE": "Male"}
"""NudeNet's face classes, which are also its guess of the gender."""
MIN_FACE_SIDE = 16
"""NudeNet faces smaller than this (px) are ignored: too small to describe."""


@dataclass(frozen=True)
class FoundFace:
    face: Face
    nudenet_face: BodyPart | None
    """NudeNet's face at the same place, if it saw one."""


def find_faces(picture: Picture, models: Models, with_smile: bool = False) -> list[FoundFace]:
    """Haar cascade faces, confirmed or completed by NudeNet's faces."""
    with models.nudity.use() as nudity:
        nudenet_faces = [
            part
            for part in nudity.detect(picture)
            if part.name in GENDERS and min(part.box.width, part.box.height) >= MIN_FACE_SIDE
        ]
    with models.faces.use() as detector:
        faces = detector.detect(picture, with_smile, [Sighting(part.box, part.score * 100) for part in nudenet_faces])
    return [FoundFace(face, _same_place(face, nudenet_faces)) for face in faces]


def _same_place(face: Face, parts: list[BodyPart]) -> BodyPart | None:
    overlapping = [part for part in parts if part.box.intersection_over_union(face.box) >= SAME_FACE_IOU]
    return max(overlapping, key=lambda part: part.score, default=None)


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
