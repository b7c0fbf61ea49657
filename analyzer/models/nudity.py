"""Exposed and covered body parts: NudeNet's 320n detector, shipped in the nudenet wheel."""

from dataclasses import dataclass

from nudenet import NudeDetector  # type: ignore[import-untyped]

from analyzer.geometry import PixelBox
from analyzer.images import Picture

VERSION = "NudeNet-3.4.2-320n"


@dataclass(frozen=True)
class BodyPart:
    name: str
    score: float
    box: PixelBox


class NudityDetector:
    def __init__(self) -> None:
        self._detector = NudeDetector()

    def detect(self, picture: Picture) -> list[BodyPart]:
        found = self._detector.detect(picture.bgr())
        return [BodyPart(item["class"], float(item["score"]), PixelBox(*item["box"])) for item in found]
