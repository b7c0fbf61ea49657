"""RecognizeCelebrities: no celebrity gallery exists offline, so every face is unrecognized."""

from analyzer.images import Picture
from analyzer.models.registry import Models
from analyzer.operations import Operation, Params, Response
from analyzer.operations.face_details import describe, find_faces


def parse(params: Params) -> None:
    return None


def run(request: None, picture: Picture, models: Models) -> Response:
    found = find_faces(picture, models)
    return {"CelebrityFaces": [], "UnrecognizedFaces": [describe(picture, item.face) for item in found]}


OPERATION = Operation("RecognizeCelebrities", parse, run)
