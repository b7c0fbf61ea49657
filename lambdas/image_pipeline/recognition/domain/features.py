"""The recognition features an uploader can choose."""

from __future__ import annotations

from enum import StrEnum

from image_pipeline.shared.errors import ImageRejected


class Feature(StrEnum):
    LABELS = "labels"
    TEXT = "text"
    FACES = "faces"
    MODERATION = "moderation"
    CELEBRITIES = "celebrities"


FeatureSet = frozenset[Feature]


def parse_features(raw: str | None, default: FeatureSet) -> FeatureSet:
    """Features from a comma-separated list (object metadata or config); ``default`` when none is given."""
    if raw is None or not raw.strip():
        return default
    names = {name.strip().lower() for name in raw.split(",") if name.strip()}
    unknown = sorted(names - {feature.value for feature in Feature})
    if unknown:
        choices = ", ".join(feature.value for feature in Feature)
        raise ImageRejected("INVALID_FEATURES", f"unknown feature(s) {', '.join(unknown)}; choose from {choices}")
    return frozenset(Feature(name) for name in names)


def feature_key(features: FeatureSet) -> str:
    """A stable text form of a feature set, e.g. ``labels+text``."""
    return "+".join(sorted(feature.value for feature in features))
