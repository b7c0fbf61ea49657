"""DetectFaces: Haar cascade faces; with ALL, a smile cascade and NudeNet's face genders."""

from dataclasses import dataclass
from typing import Any

from analyzer.images import Picture
from analyzer.models.faces import Face
from analyzer.models.nudity import BodyPart
from analyzer.models.registry import Models
from analyzer.operations import Operation, Params, Response
from analyzer.operations.face_details import describe
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
_GENDERS = {"FACE_FEMALE": "Female", "FACE_MALE": "Male"}
_SAME_FACE_IOU = 0.3


@dataclass(frozen=True)
class DetectFacesRequest:
    smile: bool
    gender: bool


def parse(params: Params) -> DetectFacesRequest:
    wanted = set(string_list(params, "Attributes", ATTRIBUTES))
    return DetectFacesRequest(smile=bool(wanted & {"ALL", "SMILE"}), gender=bool(wanted & {"ALL", "GENDER"}))


def _gender(face: Face, parts: list[BodyPart]) -> dict[str, Any] | None:
    matches = [
        part for part in parts if part.name in _GENDERS and part.box.intersection_over_union(face.box) >= _SAME_FACE_IOU
    ]
    if not matches:
        return None
    best = max(matches, key=lambda part: part.score)
    return {"Value": _GENDERS[best.name], "Confidence": best.score * 100}


def _attributes(request: DetectFacesRequest, face: Face, parts: list[BodyPart]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if face.smile is not None:
        extra["Smile"] = {"Value": face.smile.value, "Confidence": face.smile.confidence}
    gender = _gender(face, parts) if request.gender else None
    if gender is not None:
        extra["Gender"] = gender
    return extra


def run(request: DetectFacesRequest, picture: Picture, models: Models) -> Response:
    parts: list[BodyPart] = []
    if request.gender:
        with models.nudity.use() as nudity:
            parts = nudity.detect(picture)
    with models.faces.use() as detector:
        faces = detector.detect(picture, with_smile=request.smile)
    return {"FaceDetails": [describe(picture, face) | _attributes(request, face, parts) for face in faces]}


OPERATION = Operation("DetectFaces", parse, run)
