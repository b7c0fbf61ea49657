"""Finding and describing faces, shared by DetectFaces, RecognizeCelebrities, DetectLabels."""

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from analyzer.geometry import bounding_box, point
from analyzer.images import Picture
from analyzer.models.faces import SAME_FACE_IOU, Face, Sighting
from analyzer.models.landmarks import DEFAULT_LANDMARKS, LANDMARKS, Shape
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
    shape: Shape
    """dlib's 68 landmarks in the face's box."""


def find_faces(picture: Picture, models: Models, body_parts: list[BodyPart]) -> list[FoundFace]:
    """Haar cascade faces, confirmed or completed by NudeNet's faces (among ``body_parts``),
    each with its smile and its 68 landmarks."""
    nudenet_faces = [
        part for part in body_parts if part.name in GENDERS and min(part.box.width, part.box.height) >= MIN_FACE_SIDE
    ]
    with models.faces.use() as detector:
        faces = detector.detect(picture, True, [Sighting(part.box, part.score * 100) for part in nudenet_faces])
    with models.landmarks.use() as landmarks:
        shapes = landmarks.shapes(picture, [face.box for face in faces])
    return [FoundFace(face, _same_place(face, nudenet_faces), shape) for face, shape in zip(faces, shapes, strict=True)]


def _same_place(face: Face, parts: list[BodyPart]) -> BodyPart | None:
    overlapping = [part for part in parts if part.box.intersection_over_union(face.box) >= SAME_FACE_IOU]
    return max(overlapping, key=lambda part: part.score, default=None)


def _quality(picture: Picture, face: Face) -> dict[str, float]:
    """Brightness: mean luminance of the face, 0..100. Sharpness: 100 * (1 - e^(-v/500))
    for v the variance of the face's Laplacian. Pixel statistics, not a learned model."""
    box = face.box
    crop = picture.rgb[
        max(int(box.top), 0) : int(box.top + box.height),
        max(int(box.left), 0) : int(box.left + box.width),
    ]
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    variance = float(np.var(cv2.Laplacian(gray, cv2.CV_64F)))
    return {
        "Brightness": float(gray.mean()) / 255 * 100,
        "Sharpness": 100 * (1 - math.exp(-variance / 500)),
    }


def describe(picture: Picture, found: FoundFace, all_landmarks: bool = False) -> dict[str, Any]:
    """BoundingBox, Confidence, Landmarks (Rekognition's five, or all thirty), Pose and
    Quality."""
    width, height = picture.width, picture.height
    kinds = LANDMARKS if all_landmarks else DEFAULT_LANDMARKS
    detail: dict[str, Any] = {
        "BoundingBox": bounding_box(found.face.box, width, height),
        "Confidence": found.face.confidence,
        "Landmarks": [{"Type": kind, **point(*found.shape.landmark(kind), width, height)} for kind in kinds],
        "Quality": _quality(picture, found.face),
    }
    pose = found.shape.pose(width, height)
    if pose is not None:
        detail["Pose"] = {"Roll": pose.roll, "Yaw": pose.yaw, "Pitch": pose.pitch}
    return detail
