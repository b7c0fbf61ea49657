"""RecognizeCelebrities: no celebrity gallery exists offline, so every face is unrecognized."""

from analyzer.images import Picture
from analyzer.models.registry import Models
from analyzer.operations import Operation, Params, Response
from analyzer.operations.face_details import describe


def parse(params: Params) -> None:
    return None


def run(request: None, picture: Picture, models: Models) -> Response:
    with models.faces.use() as detector:
        faces = detector.detect(picture)
    return {
        "CelebrityFaces": [],
        "UnrecognizedFaces": [describe(picture, face) for face in faces],
    }


OPERATION = Operation("RecognizeCelebrities", parse, run)
