"""Rekognition answers normalised into the stored result schema (docs/result-schema.md).

Boxes are ratios of the image width and height (0..1, as Rekognition gives them); confidences 0..100.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def _box(raw: Json | None) -> Json | None:
    if not raw:
        return None
    return {name: round(float(raw.get(key, 0.0)), 4) for name, key in _BOX_FIELDS}


_BOX_FIELDS = (("left", "Left"), ("top", "Top"), ("width", "Width"), ("height", "Height"))


def _confidence(value: Any) -> float:
    return round(float(value or 0.0), 2)


def normalise_labels(response: Json) -> list[Json]:
    labels = [
        {
            "name": label["Name"],
            "confidence": _confidence(label.get("Confidence")),
            "parents": [parent["Name"] for parent in label.get("Parents", [])],
            "categories": [category["Name"] for category in label.get("Categories", [])],
            "instances": [
                {
                    "boundingBox": _box(instance.get("BoundingBox")),
                    "confidence": _confidence(instance.get("Confidence")),
                }
                for instance in label.get("Instances", [])
            ],
        }
        for label in response.get("Labels", [])
    ]
    return sorted(labels, key=lambda label: -label["confidence"])


def normalise_text(response: Json) -> Json:
    detections = response.get("TextDetections", [])

    def entry(detection: Json) -> Json:
        return {
            "text": detection.get("DetectedText", ""),
            "confidence": _confidence(detection.get("Confidence")),
            "boundingBox": _box(detection.get("Geometry", {}).get("BoundingBox")),
        }

    return {
        "lines": [entry(d) for d in detections if d.get("Type") == "LINE"],
        "words": [{**entry(d), "lineId": d.get("ParentId")} for d in detections if d.get("Type") == "WORD"],
    }


def _flag(raw: Json | None) -> Json | None:
    if raw is None:
        return None
    return {"value": bool(raw.get("Value")), "confidence": _confidence(raw.get("Confidence"))}


def normalise_faces(response: Json) -> list[Json]:
    faces = []
    for face in response.get("FaceDetails", []):
        age = face.get("AgeRange")
        emotions = sorted(
            ({"type": e["Type"], "confidence": _confidence(e.get("Confidence"))} for e in face.get("Emotions", [])),
            key=lambda emotion: -emotion["confidence"],
        )
        faces.append(
            {
                "boundingBox": _box(face.get("BoundingBox")),
                "confidence": _confidence(face.get("Confidence")),
                "ageRange": {"low": age.get("Low"), "high": age.get("High")} if age else None,
                "emotions": emotions,
                "landmarks": [
                    {"type": mark["Type"], "x": round(float(mark["X"]), 4), "y": round(float(mark["Y"]), 4)}
                    for mark in face.get("Landmarks", [])
                ],
                "smile": _flag(face.get("Smile")),
                "eyeglasses": _flag(face.get("Eyeglasses")),
                "sunglasses": _flag(face.get("Sunglasses")),
                "eyesOpen": _flag(face.get("EyesOpen")),
                "mouthOpen": _flag(face.get("MouthOpen")),
                "gender": face.get("Gender", {}).get("Value") if face.get("Gender") else None,
                "pose": {k.lower(): round(float(v), 2) for k, v in face.get("Pose", {}).items()} or None,
            }
        )
    return faces


def normalise_moderation(response: Json) -> Json:
    labels = [
        {
            "name": label["Name"],
            "parentName": label.get("ParentName") or None,
            "confidence": _confidence(label.get("Confidence")),
            "taxonomyLevel": label.get("TaxonomyLevel"),
        }
        for label in response.get("ModerationLabels", [])
    ]
    return {"unsafe": bool(labels), "labels": sorted(labels, key=lambda label: -label["confidence"])}


def normalise_celebrities(response: Json) -> Json:
    return {
        "celebrities": [
            {
                "id": celebrity.get("Id"),
                "name": celebrity.get("Name"),
                "confidence": _confidence(celebrity.get("MatchConfidence")),
                "urls": celebrity.get("Urls", []),
                "boundingBox": _box(celebrity.get("Face", {}).get("BoundingBox")),
            }
            for celebrity in response.get("CelebrityFaces", [])
        ],
        "unrecognizedFaces": [
            {"boundingBox": _box(face.get("BoundingBox")), "confidence": _confidence(face.get("Confidence"))}
            for face in response.get("UnrecognizedFaces", [])
        ],
    }
