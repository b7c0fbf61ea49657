"""DetectText: PP-OCRv6 lines and words, with Rekognition's word filters."""

from dataclasses import dataclass
from typing import Any

from analyzer.analysis import ImageAnalysis
from analyzer.errors import InvalidParameterException
from analyzer.geometry import bounding_box, enclosing_box, point
from analyzer.images import Picture
from analyzer.models import ocr
from analyzer.operations import Operation, Params, Response
from analyzer.operations.params import percent, ratio, structure

MAX_WORDS = 100
Region = tuple[tuple[float, float], ...]
"""A region of interest as a polygon in ratios of the image's sides."""


@dataclass(frozen=True)
class DetectTextRequest:
    min_confidence: float
    min_height: float
    min_width: float
    regions: tuple[Region, ...]


def _region(item: Any) -> Region:
    try:
        if "Polygon" in item:
            return tuple((float(p["X"]), float(p["Y"])) for p in item["Polygon"])
        box = item["BoundingBox"]
        left, top = float(box.get("Left", 0)), float(box.get("Top", 0))
        right, bottom = (
            left + float(box.get("Width", 0)),
            top + float(box.get("Height", 0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidParameterException(
            "A region of interest needs a BoundingBox or a Polygon of X, Y points"
        ) from error
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def parse(params: Params) -> DetectTextRequest:
    filters = structure(params, "Filters")
    word_filter = structure(filters, "WordFilter")
    regions = filters.get("RegionsOfInterest", [])
    if not isinstance(regions, list) or len(regions) > 10:
        raise InvalidParameterException("RegionsOfInterest must be a list of at most 10")
    return DetectTextRequest(
        min_confidence=percent(word_filter, "MinConfidence", 0.0),
        min_height=ratio(word_filter, "MinBoundingBoxHeight"),
        min_width=ratio(word_filter, "MinBoundingBoxWidth"),
        regions=tuple(_region(item) for item in regions),
    )


def _inside(x: float, y: float, polygon: Region) -> bool:
    """Ray casting: is the point inside the polygon?"""
    inside = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _geometry(quad: ocr.Quad, picture: Picture) -> dict[str, Any]:
    width, height = picture.width, picture.height
    return {
        "BoundingBox": bounding_box(enclosing_box(quad), width, height),
        "Polygon": [point(x, y, width, height) for x, y in quad],
    }


def _keeps(request: DetectTextRequest, word: ocr.Word, geometry: dict[str, Any]) -> bool:
    box = geometry["BoundingBox"]
    if word.confidence * 100 < request.min_confidence:
        return False
    if box["Height"] < request.min_height or box["Width"] < request.min_width:
        return False
    centre = (box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2)
    return not request.regions or any(_inside(*centre, region) for region in request.regions)


def run(request: DetectTextRequest, analysis: ImageAnalysis) -> Response:
    picture, lines = analysis.picture, analysis.text_lines()
    line_entries: list[dict[str, Any]] = []
    word_entries: list[dict[str, Any]] = []
    for line in lines:
        kept: list[tuple[ocr.Word, dict[str, Any]]] = []
        for word in line.words:
            geometry = _geometry(word.quad, picture)
            if len(word_entries) + len(kept) < MAX_WORDS and _keeps(request, word, geometry):
                kept.append((word, geometry))
        if not kept:
            continue
        line_id = len(line_entries)
        line_entries.append(
            {
                "DetectedText": line.text if len(kept) == len(line.words) else " ".join(word.text for word, _ in kept),
                "Type": "LINE",
                "Id": line_id,
                "Confidence": line.confidence * 100,
                "Geometry": _geometry(line.quad, picture),
            }
        )
        word_entries.extend(
            {
                "DetectedText": word.text,
                "Type": "WORD",
                "ParentId": line_id,
                "Confidence": word.confidence * 100,
                "Geometry": geometry,
            }
            for word, geometry in kept
        )
    for number, entry in enumerate(word_entries, start=len(line_entries)):
        entry["Id"] = number
    return {
        "TextDetections": line_entries + word_entries,
        "TextModelVersion": ocr.VERSION,
    }


OPERATION = Operation("DetectText", parse, run)
