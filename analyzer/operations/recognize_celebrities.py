"""RecognizeCelebrities: no celebrity gallery exists offline, so every face is unrecognized."""

from analyzer.analysis import ImageAnalysis
from analyzer.face_details import describe
from analyzer.operations import Operation, Params, Response


def parse(params: Params) -> None:
    return None


def run(request: None, analysis: ImageAnalysis) -> Response:
    return {
        "CelebrityFaces": [],
        "UnrecognizedFaces": [describe(analysis.picture, found) for found in analysis.faces()],
    }


OPERATION = Operation("RecognizeCelebrities", parse, run)
