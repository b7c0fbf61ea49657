"""DetectLabels: ImageNet classes mapped to Rekognition-style labels, plus what the face
and text detectors see (Person/Face/Head with face boxes, Text)."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from analyzer import taxonomy
from analyzer.analysis import ImageAnalysis
from analyzer.geometry import bounding_box
from analyzer.images import Picture
from analyzer.models import classifier, faces, nudity, ocr
from analyzer.models.faces import Face
from analyzer.operations import Operation, Params, Response
from analyzer.operations.params import optional_count, percent, string_list, structure

VERSION = f"{classifier.VERSION}+{faces.VERSION}+{nudity.VERSION}+{ocr.VERSION}"
FEATURES = ("GENERAL_LABELS", "IMAGE_PROPERTIES")
_CLASS_FLOOR = 0.005
"""ImageNet classes below this probability are not counted at all."""
_MIN_TEXT_CHARACTERS = 2


@dataclass(frozen=True)
class DetectLabelsRequest:
    max_labels: int | None
    min_confidence: float
    general_labels: bool
    include: frozenset[str]
    exclude: frozenset[str]


def parse(params: Params) -> DetectLabelsRequest:
    features = string_list(params, "Features", FEATURES)
    general = structure(structure(params, "Settings"), "GeneralLabels")
    return DetectLabelsRequest(
        max_labels=optional_count(params, "MaxLabels"),
        min_confidence=percent(params, "MinConfidence", 55.0),
        general_labels=not features or "GENERAL_LABELS" in features,
        include=frozenset(string_list(general, "LabelInclusionFilters")),
        exclude=frozenset(string_list(general, "LabelExclusionFilters")),
    )


@dataclass
class _Board:
    """Labels collected from every source, with their parents and instances."""

    confidence: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    instances: defaultdict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add_classes(self, probabilities: npt.NDArray[np.float64], names: list[str]) -> None:
        """A label's confidence is the summed probability of the classes beneath it."""
        for index in np.flatnonzero(probabilities >= _CLASS_FLOOR):
            name = taxonomy.display_name(int(index), names[index])
            general = taxonomy.general_label(int(index))
            chain = [name, general, *taxonomy.parents(general)] if general else [name]
            chain = list(dict.fromkeys(chain))
            self.parents.setdefault(name, tuple(chain[1:]))
            for label in chain:
                self.parents.setdefault(label, taxonomy.parents(label))
                self.confidence[label] += float(probabilities[index]) * 100

    def add_detection(self, label: str, confidence: float) -> None:
        """A detector's own confidence; the label's parents come along at the same value."""
        for name in (label, *taxonomy.parents(label)):
            self.parents.setdefault(name, taxonomy.parents(name))
            self.confidence[name] = max(self.confidence[name], confidence)

    def add_faces(self, found: list[Face], picture: Picture) -> None:
        if not found:
            return
        self.add_detection("Face", max(face.confidence for face in found))  # and Head, Person
        self.instances["Person"] = [
            {
                "BoundingBox": bounding_box(face.box, picture.width, picture.height),
                "Confidence": face.confidence,
            }
            for face in found
        ]

    def add_text(self, lines: list[ocr.Line]) -> None:
        """Text counts when a line reads as at least two letters or digits."""
        legible = [
            line.confidence * 100
            for line in lines
            if sum(character.isalnum() for character in line.text) >= _MIN_TEXT_CHARACTERS
        ]
        if legible:
            self.add_detection("Text", max(legible))

    def labels(self, request: DetectLabelsRequest) -> list[dict[str, Any]]:
        ranked = sorted(self.confidence.items(), key=lambda item: -item[1])
        chosen = [
            {
                "Name": name,
                "Confidence": min(confidence, 100.0),
                "Instances": self.instances.get(name, []),
                "Parents": [{"Name": parent} for parent in self.parents[name]],
            }
            for name, confidence in ranked
            if confidence >= request.min_confidence
            and (not request.include or name in request.include)
            and name not in request.exclude
        ]
        return chosen if request.max_labels is None else chosen[: request.max_labels]


def run(request: DetectLabelsRequest, analysis: ImageAnalysis) -> Response:
    board = _Board()
    if request.general_labels:
        board.add_classes(analysis.class_probabilities(), analysis.class_names())
        board.add_faces([item.face for item in analysis.faces()], analysis.picture)
        board.add_text(analysis.text_lines())
    return {"Labels": board.labels(request), "LabelModelVersion": VERSION}


OPERATION = Operation("DetectLabels", parse, run)
