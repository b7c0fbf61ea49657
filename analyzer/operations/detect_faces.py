"""DetectFaces: Haar cascade and NudeNet faces with dlib's landmarks; with ALL, a smile
cascade, NudeNet's genders, and eyes and mouth open from the landmarks."""

from dataclasses import dataclass
from typing import Any

from analyzer.analysis import ImageAnalysis
from analyzer.face_details import GENDERS, FoundFace, describe
from analyzer.models.landmarks import EYE_OPEN_RATIO, MOUTH_OPEN_RATIO
from analyzer.operations import Operation, Params, Response
from analyzer.operations.params import string_list

ATTRIBUTES = (
    "DEFAULT",
    "ALL",
    "AGE_RANGE",
    "BEARD",
    "EMOTIONS",
    "EYE_DIRECTION",
    "EYEGLASSES",
    "EYES_OPEN",
    "GENDER",
    "MOUTH_OPEN",
    "MUSTACHE",
    "FACE_OCCLUDED",
    "SMILE",
    "SUNGLASSES",
)


@dataclass(frozen=True)
class DetectFacesRequest:
    all_landmarks: bool
    smile: bool
    gender: bool
    eyes_open: bool
    mouth_open: bool


def parse(params: Params) -> DetectFacesRequest:
    wanted = set(string_list(params, "Attributes", ATTRIBUTES))
    everything = "ALL" in wanted
    return DetectFacesRequest(
        all_landmarks=everything,
        smile=everything or "SMILE" in wanted,
        gender=everything or "GENDER" in wanted,
        eyes_open=everything or "EYES_OPEN" in wanted,
        mouth_open=everything or "MOUTH_OPEN" in wanted,
    )


def open_or_shut(ratio: float, threshold: float) -> dict[str, Any]:
    """``Value`` from an aspect ratio and its threshold; ``Confidence`` grows from 50 at the
    threshold to 100 at twice (or none of) it: a ranking, not a calibrated probability."""
    distance = min(abs(ratio - threshold) / threshold, 1.0)
    return {"Value": ratio >= threshold, "Confidence": 50.0 + 50.0 * distance}


def _attributes(request: DetectFacesRequest, found: FoundFace) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    smile = found.face.smile
    if request.smile and smile is not None:
        extra["Smile"] = {"Value": smile.value, "Confidence": smile.confidence}
    if request.gender and found.nudenet_face is not None:
        part = found.nudenet_face
        extra["Gender"] = {"Value": GENDERS[part.name], "Confidence": part.score * 100}
    if request.eyes_open:
        extra["EyesOpen"] = open_or_shut(found.shape.eye_ratio(), EYE_OPEN_RATIO)
    if request.mouth_open:
        extra["MouthOpen"] = open_or_shut(found.shape.mouth_ratio(), MOUTH_OPEN_RATIO)
    return extra


def run(request: DetectFacesRequest, analysis: ImageAnalysis) -> Response:
    return {
        "FaceDetails": [
            describe(analysis.picture, found, request.all_landmarks) | _attributes(request, found)
            for found in analysis.faces()
        ]
    }


OPERATION = Operation("DetectFaces", parse, run)
