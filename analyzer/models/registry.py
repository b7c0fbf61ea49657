"""The set of lazily loaded models a server shares between its request threads."""

from dataclasses import dataclass, field
from typing import Any

from analyzer.models import LazyModel
from analyzer.models.classifier import ImageClassifier, load_classifier
from analyzer.models.faces import FaceDetector
from analyzer.models.landmarks import LandmarkModel
from analyzer.models.nudity import NudityDetector
from analyzer.models.ocr import TextReader
from analyzer.models.open_nsfw import NsfwScorer


@dataclass
class Models:
    faces: LazyModel[FaceDetector] = field(default_factory=lambda: LazyModel("faces", FaceDetector))
    text: LazyModel[TextReader] = field(default_factory=lambda: LazyModel("text", TextReader))
    nudity: LazyModel[NudityDetector] = field(default_factory=lambda: LazyModel("nudity", NudityDetector))
    nsfw: LazyModel[NsfwScorer] = field(default_factory=lambda: LazyModel("nsfw", NsfwScorer))
    classifier: LazyModel[ImageClassifier] = field(default_factory=lambda: LazyModel("classifier", load_classifier))
    landmarks: LazyModel[LandmarkModel] = field(default_factory=lambda: LazyModel("landmarks", LandmarkModel))

    def all(self) -> tuple[LazyModel[Any], ...]:
        return (self.classifier, self.faces, self.landmarks, self.text, self.nudity, self.nsfw)

    def load_counts(self) -> dict[str, int]:
        return {model.name: model.load_count for model in self.all()}
