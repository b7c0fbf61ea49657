"""DetectFaces: Haar cascade and NudeNet faces; with ALL, a smile cascade and NudeNet's genders."""

from dataclasses import dataclass
from typing import Any

from analyzer.images import Picture
from analyzer.models.registry import Models
from analyzer.operations import Operation, Params, Response
from analyzer.operations.face_details import GENDERS, FoundFace, describe, find_faces
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
    smile: bool
    gender: bool


def parse(params: Params) -> DetectFacesRequest:
    wanted = set(string_list(params, "Attributes", ATTRIBUTES))
    return DetectFacesRequest(smile=bool(wanted & {"ALL", "SMILE"}), gender=bool(wanted & {"ALL", "GENDER"}))


def _attributes(request: DetectFacesRequest, found: FoundFace) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    smile = found.face.smile
    if smile is not None:
        extra["Smile"] = {"Value": smile.value, "Confidence": smile.confidence}
    if request.gender and found.nudenet_face is not None:
        part = found.nudenet_face
        extra["Gender"] = {"Value": GENDERS[part.name], "Confidence": part.score * 100}
    return extra


def run(request: DetectFacesRequest, picture: Picture, models: Models) -> Response:
    found = find_faces(picture, models, with_smile=request.smile)
    return {"FaceDetails": [describe(picture, item.face) | _attributes(request, item) for item in found]}


OPERATION = Operation("DetectFaces", parse, run)
