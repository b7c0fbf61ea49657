"""DetectModerationLabels: NudeNet's exposed body parts in Rekognition's taxonomy (v7),
checked by Open-NSFW's score for the whole image.

Only nudity is covered. Each detected part yields its level-3 label and that label's
level-2 and level-1 ancestors, each with the best confidence found beneath it. Parts count
only when Open-NSFW does not call the image safe; when it calls the image unsafe, "Explicit"
is reported even if NudeNet found no part.
"""

from dataclasses import dataclass

from analyzer.analysis import ImageAnalysis
from analyzer.models import nudity, open_nsfw
from analyzer.operations import Operation, Params, Response
from analyzer.operations.params import percent

_EXPLICIT = ("Explicit Nudity", "Explicit")
_NON_EXPLICIT = (
    "Non-Explicit Nudity",
    "Non-Explicit Nudity of Intimate parts and Kissing",
)
SAFE_BELOW = 0.2
UNSAFE_FROM = 0.8
"""Yahoo's guidance for Open-NSFW: below 0.2 safe, from 0.8 unsafe, a human's call between."""
# NudeNet class -> (level-3 label, level-2 parent, level-1 parent).
_TAXONOMY: dict[str, tuple[str, str, str]] = {
    "FEMALE_GENITALIA_EXPOSED": ("Exposed Female Genitalia", *_EXPLICIT),
    "MALE_GENITALIA_EXPOSED": ("Exposed Male Genitalia", *_EXPLICIT),
    "FEMALE_BREAST_EXPOSED": ("Exposed Female Nipple", *_EXPLICIT),
    "BUTTOCKS_EXPOSED": ("Exposed Buttocks or Anus", *_EXPLICIT),
    "ANUS_EXPOSED": ("Exposed Buttocks or Anus", *_EXPLICIT),
    "MALE_BREAST_EXPOSED": ("Exposed Male Nipple", *_NON_EXPLICIT),
}


@dataclass(frozen=True)
class DetectModerationLabelsRequest:
    min_confidence: float


def parse(params: Params) -> DetectModerationLabelsRequest:
    return DetectModerationLabelsRequest(percent(params, "MinConfidence", 50.0))


def labels(parts: list[nudity.BodyPart], nsfw_score: float) -> dict[tuple[str, str, int], float]:
    """(Name, ParentName, TaxonomyLevel) -> best confidence, for every level."""
    found: dict[tuple[str, str, int], float] = {}
    if nsfw_score >= UNSAFE_FROM:
        found[_EXPLICIT[1], "", 1] = nsfw_score * 100
    if nsfw_score < SAFE_BELOW:
        return found
    for part in parts:
        if part.name not in _TAXONOMY:
            continue
        leaf, middle, top = _TAXONOMY[part.name]
        for key in ((leaf, middle, 3), (middle, top, 2), (top, "", 1)):
            found[key] = max(found.get(key, 0.0), part.score * 100)
    return found


def run(request: DetectModerationLabelsRequest, analysis: ImageAnalysis) -> Response:
    scored = labels(analysis.body_parts(), analysis.nsfw_score())
    found = sorted(scored.items(), key=lambda item: (item[0][2], -item[1]))
    return {
        "ModerationLabels": [
            {
                "Confidence": confidence,
                "Name": name,
                "ParentName": parent,
                "TaxonomyLevel": level,
            }
            for (name, parent, level), confidence in found
            if confidence >= request.min_confidence
        ],
        "ModerationModelVersion": f"{nudity.VERSION}+{open_nsfw.VERSION}",
    }


OPERATION = Operation("DetectModerationLabels", parse, run)
