"""Rekognition answers -> the stored schema (boxes as ratios, confidences 0..100, sorted)."""

from image_pipeline.recognition.adapters import rekognition_results as results

BOX = {"Width": 0.5, "Height": 0.25, "Left": 0.1, "Top": 0.2}
NORMAL_BOX = {"left": 0.1, "top": 0.2, "width": 0.5, "height": 0.25}


def test_labels_keep_parents_instances_and_sort_by_confidence() -> None:
    response = {
        "Labels": [
            {"Name": "Pet", "Confidence": 80.123456, "Parents": [{"Name": "Animal"}]},
            {
                "Name": "Cat",
                "Confidence": 98.7,
                "Parents": [{"Name": "Pet"}, {"Name": "Animal"}],
                "Instances": [{"BoundingBox": BOX, "Confidence": 91.0}],
                "Categories": [{"Name": "Animals and Pets"}],
            },
        ]
    }
    labels = results.normalise_labels(response)
    assert [label["name"] for label in labels] == ["Cat", "Pet"]
    assert labels[0]["parents"] == ["Pet", "Animal"]
    assert labels[0]["instances"] == [{"boundingBox": NORMAL_BOX, "confidence": 91.0}]
    assert labels[1]["confidence"] == 80.12


def test_text_splits_lines_and_words_with_boxes() -> None:
    response = {
        "TextDetections": [
            {
                "DetectedText": "HELLO WORLD",
                "Type": "LINE",
                "Id": 0,
                "Confidence": 99.1,
                "Geometry": {"BoundingBox": BOX},
            },
            {
                "DetectedText": "HELLO",
                "Type": "WORD",
                "Id": 1,
                "ParentId": 0,
                "Confidence": 99.0,
                "Geometry": {"BoundingBox": BOX},
            },
        ]
    }
    text = results.normalise_text(response)
    assert text["lines"] == [{"text": "HELLO WORLD", "confidence": 99.1, "boundingBox": NORMAL_BOX}]
    assert text["words"][0]["lineId"] == 0


def test_faces_carry_age_emotions_landmarks_eyes_mouth_and_pose() -> None:
    response = {
        "FaceDetails": [
            {
                "BoundingBox": BOX,
                "Confidence": 99.9,
                "AgeRange": {"Low": 25, "High": 35},
                "Emotions": [{"Type": "CALM", "Confidence": 10.0}, {"Type": "HAPPY", "Confidence": 85.0}],
                "Landmarks": [{"Type": "eyeLeft", "X": 0.31234, "Y": 0.4}],
                "Smile": {"Value": True, "Confidence": 92.0},
                "EyesOpen": {"Value": False, "Confidence": 71.0},
                "MouthOpen": {"Value": True, "Confidence": 64.0},
                "Pose": {"Roll": 1.234, "Yaw": -20.5, "Pitch": 8.0},
            }
        ]
    }
    [face] = results.normalise_faces(response)
    assert face["eyesOpen"] == {"value": False, "confidence": 71.0}
    assert face["mouthOpen"] == {"value": True, "confidence": 64.0}
    assert face["pose"] == {"roll": 1.23, "yaw": -20.5, "pitch": 8.0}
    assert face["ageRange"] == {"low": 25, "high": 35}
    assert face["emotions"][0] == {"type": "HAPPY", "confidence": 85.0}
    assert face["landmarks"] == [{"type": "eyeLeft", "x": 0.3123, "y": 0.4}]
    assert face["smile"] == {"value": True, "confidence": 92.0}


def test_moderation_marks_an_image_unsafe_only_when_labels_are_found() -> None:
    assert results.normalise_moderation({"ModerationLabels": []}) == {"unsafe": False, "labels": []}
    flagged = results.normalise_moderation(
        {"ModerationLabels": [{"Name": "Violence", "ParentName": "", "Confidence": 77.0, "TaxonomyLevel": 1}]}
    )
    assert flagged["unsafe"] is True
    assert flagged["labels"][0] == {"name": "Violence", "parentName": None, "confidence": 77.0, "taxonomyLevel": 1}


def test_celebrities_and_unrecognised_faces_are_both_kept() -> None:
    response = {
        "CelebrityFaces": [
            {"Id": "1", "Name": "A Person", "MatchConfidence": 99.0, "Urls": [], "Face": {"BoundingBox": BOX}}
        ],
        "UnrecognizedFaces": [{"BoundingBox": BOX, "Confidence": 99.5}],
    }
    normalised = results.normalise_celebrities(response)
    assert normalised["celebrities"][0]["name"] == "A Person"
    assert normalised["unrecognizedFaces"] == [{"boundingBox": NORMAL_BOX, "confidence": 99.5}]
