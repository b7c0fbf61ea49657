"""The set of lazily loaded models a server shares between its request threads."""

from dataclasses import dataclass, field

from analyzer.models import LazyModel
from analyzer.models.classifier import ImageClassifier, load_classifier
from analyzer.models.faces import FaceDetector
from analyzer.models.nudity import NudityDetector
from analyzer.models.ocr import TextReader


@dataclass
class Models:
    faces: LazyModel[FaceDetector] = field(default_factory=lambda: LazyModel("faces", FaceDetector))
    text: LazyModel[TextReader] = field(default_factory=lambda: LazyModel("text", TextReader))
    nudity: LazyModel[NudityDetector] = field(default_factory=lambda: LazyModel("nudity", NudityDetector))
    classifier: LazyModel[ImageClassifier] = field(default_factory=lambda: LazyModel("classifier", load_classifier))

    def load_counts(self) -> dict[str, int]:
        models = (self.faces, self.text, self.nudity, self.classifier)
        return {model.name: model.load_count for model in models}
