"""68 facial landmarks: dlib's shape predictor, shipped in the face-recognition-models wheel.

The predictor (``shape_predictor_68_face_landmarks.dat``, dlib's ensemble of regression
trees trained on iBUG 300-W) places 68 points in a face box found by the face detectors.
From them come Rekognition's landmark types, the head pose (a perspective-n-point fit of six
points to a generic 3-D face), whether the eyes and the mouth are open (aspect ratios of
their outlines). Points are in image pixels; "left" and "right" are as seen in the image.
"""

import math
from dataclasses import dataclass
from importlib import util
from pathlib import Path

import cv2
import dlib  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt

from analyzer.geometry import PixelBox
from analyzer.images import Picture

VERSION = "dlib-shape_predictor_68_face_landmarks"
_PREDICTOR = "shape_predictor_68_face_landmarks.dat"
Point = tuple[float, float]

# Rekognition's landmark types from dlib's 68 points (0-based), each the mean of its points.
# dlib's 36-41 outline the eye on the image's left, 42-47 the one on its right.
LANDMARKS: dict[str, tuple[int, ...]] = {
    "eyeLeft": (36, 37, 38, 39, 40, 41),
    "eyeRight": (42, 43, 44, 45, 46, 47),
    "nose": (30,),
    "mouthLeft": (48,),
    "mouthRight": (54,),
    "leftEyeBrowLeft": (17,),
    "leftEyeBrowRight": (21,),
    "leftEyeBrowUp": (19,),
    "rightEyeBrowLeft": (22,),
    "rightEyeBrowRight": (26,),
    "rightEyeBrowUp": (24,),
    "leftEyeLeft": (36,),
    "leftEyeRight": (39,),
    "leftEyeUp": (37, 38),
    "leftEyeDown": (40, 41),
    "rightEyeLeft": (42,),
    "rightEyeRight": (45,),
    "rightEyeUp": (43, 44),
    "rightEyeDown": (46, 47),
    "noseLeft": (31,),
    "noseRight": (35,),
    "mouthUp": (51,),
    "mouthDown": (57,),
    "leftPupil": (37, 38, 40, 41),
    "rightPupil": (43, 44, 46, 47),
    "upperJawlineLeft": (1,),
    "midJawlineLeft": (4,),
    "chinBottom": (8,),
    "midJawlineRight": (12,),
    "upperJawlineRight": (15,),
}
DEFAULT_LANDMARKS = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")
"""The five Rekognition returns without ``ALL``."""

# A mean adult head (mm; x to the image's right, y down, z away from the camera; origin at the
# sellion, between the eyes), from the anthropometric means of the "Head-and-Face
# Anthropometric Survey of U.S. Respirator Users", at dlib's points: jaw ends, gonions, chin,
# outer brows, sellion, nose tip, subnasale, eye corners.
_HEAD: dict[int, tuple[float, float, float]] = {
    0: (-77.5, 5.0, 100.0),
    4: (-77.5, 85.0, 110.0),
    8: (0.0, 122.7, 0.0),
    12: (77.5, 85.0, 110.0),
    16: (77.5, 5.0, 100.0),
    17: (-56.1, -10.0, 20.0),
    26: (56.1, -10.0, 20.0),
    27: (0.0, 0.0, 0.0),
    30: (0.0, 48.0, -21.1),
    33: (0.0, 52.0, -5.0),
    36: (-65.5, 5.0, 20.0),
    39: (-40.5, 5.0, 10.0),
    42: (40.5, 5.0, 10.0),
    45: (65.5, 5.0, 20.0),
}
_MODEL_POINTS = np.array(list(_HEAD.values()), np.float64)
_POSE_POINTS = tuple(_HEAD)
EYE_OPEN_RATIO = 0.2
"""Eye aspect ratio (eyelid gap over eye width) from which an eye counts as open."""
MOUTH_OPEN_RATIO = 0.1
_UPRIGHT_DEGREES = 5.0
_UPRIGHT_FITS = 2
"""Faces tilted by more than ``_UPRIGHT_DEGREES`` are turned upright and fitted again, at most this often."""
"""Inner-lip gap over mouth width from which the mouth counts as open."""


@dataclass(frozen=True)
class Pose:
    roll: float
    yaw: float
    pitch: float


@dataclass(frozen=True)
class Shape:
    """The 68 points of one face, and what follows from them."""

    points: tuple[Point, ...]

    def landmark(self, kind: str) -> Point:
        chosen = [self.points[index] for index in LANDMARKS[kind]]
        return (sum(p[0] for p in chosen) / len(chosen), sum(p[1] for p in chosen) / len(chosen))

    def _distance(self, a: int, b: int) -> float:
        (x1, y1), (x2, y2) = self.points[a], self.points[b]
        return math.hypot(x2 - x1, y2 - y1)

    def eye_ratio(self) -> float:
        """Mean eye aspect ratio of both eyes: (two lid gaps) / (2 x corner distance)."""
        ratios = [
            (self._distance(p2, p6) + self._distance(p3, p5)) / (2 * max(self._distance(p1, p4), 1e-6))
            for p1, p2, p3, p4, p5, p6 in ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))
        ]
        return sum(ratios) / 2

    def mouth_ratio(self) -> float:
        """Inner-lip gap (three pairs, averaged) over the mouth's corner-to-corner width."""
        gap = (self._distance(61, 67) + self._distance(62, 66) + self._distance(63, 65)) / 3
        return gap / max(self._distance(48, 54), 1e-6)

    def pose(self, width: int, height: int) -> Pose | None:
        """Roll from the line through the eyes; yaw and pitch from a perspective fit of a
        generic head (a pinhole camera whose focal length is the image's width). Degrees:
        roll > 0 when the face tilts clockwise in the image, yaw > 0 when it turns towards
        the image's right, pitch > 0 when it looks up."""
        image_points = np.array([self.points[index] for index in _POSE_POINTS], np.float64)
        camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
        solved, rotation_vector, _ = cv2.solvePnP(_MODEL_POINTS, image_points, camera, np.zeros(4))
        if not solved:
            return None
        # OpenCV's camera: x right, y down, z away from it. A frontal face is the identity;
        # R = Rz Ry Rx, and the face's normal (towards the camera) tilts down for a positive
        # turn about x, to the image's left for a positive turn about y.
        rotation, _ = cv2.Rodrigues(rotation_vector)
        pitch = -math.degrees(math.atan2(float(rotation[2, 1]), float(rotation[2, 2])))
        yaw = -math.degrees(math.asin(max(-1.0, min(1.0, -float(rotation[2, 0])))))
        return Pose(roll=self.roll(), yaw=yaw, pitch=pitch)

    def roll(self) -> float:
        """Degrees from the image's horizontal to the line through the eyes (clockwise > 0)."""
        (lx, ly), (rx, ry) = self.landmark("eyeLeft"), self.landmark("eyeRight")
        return math.degrees(math.atan2(ry - ly, rx - lx))


def predictor_path() -> Path:
    """The predictor inside the installed face_recognition_models package (found without
    importing it: its ``__init__`` needs setuptools' pkg_resources)."""
    spec = util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face-recognition-models is not installed")
    return Path(spec.origin).parent / "models" / _PREDICTOR


class LandmarkModel:
    def __init__(self) -> None:
        self._predictor = dlib.shape_predictor(str(predictor_path()))

    def _predict(self, gray: npt.NDArray[np.uint8], box: PixelBox) -> Shape:
        rectangle = dlib.rectangle(
            round(box.left),
            round(box.top),
            round(box.left + box.width),
            round(box.top + box.height),
        )
        found = self._predictor(gray, rectangle)
        return Shape(tuple((float(found.part(i).x), float(found.part(i).y)) for i in range(found.num_parts)))

    def shape(self, gray: npt.NDArray[np.uint8], box: PixelBox) -> Shape:
        """The 68 points of the face in ``box`` of a grayscale image.

        The predictor was trained on upright faces: while a fit finds the face tilted by
        more than a few degrees (twice at most), the image is turned by that tilt about the
        box's centre, the face fitted again there, and the points turned back.
        """
        shape = self._predict(gray, box)
        centre = (box.left + box.width / 2, box.top + box.height / 2)
        for _ in range(_UPRIGHT_FITS):
            roll = shape.roll()
            if abs(roll) < _UPRIGHT_DEGREES:
                break
            upright = cv2.getRotationMatrix2D(centre, roll, 1.0)
            turned: npt.NDArray[np.uint8] = cv2.warpAffine(  # type: ignore[assignment]
                gray, upright, (gray.shape[1], gray.shape[0]), flags=cv2.INTER_LINEAR
            )
            points = np.asarray(self._predict(turned, box).points, np.float64)
            back = cv2.invertAffineTransform(upright)
            restored = points @ back[:, :2].T + back[:, 2]
            shape = Shape(tuple((float(x), float(y)) for x, y in restored))
        return shape

    def shapes(self, picture: Picture, boxes: list[PixelBox]) -> list[Shape]:
        gray: npt.NDArray[np.uint8] = np.ascontiguousarray(cv2.cvtColor(picture.rgb, cv2.COLOR_RGB2GRAY))
        return [self.shape(gray, box) for box in boxes]
