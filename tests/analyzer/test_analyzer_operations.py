"""Each operation over HTTP, through a real boto3 client and as raw JSON."""

from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from analyzer.models.landmarks import DEFAULT_LANDMARKS, LANDMARKS

OPERATIONS = {
    "DetectLabels": ("detect_labels", {}),
    "DetectText": ("detect_text", {}),
    "DetectFaces": ("detect_faces", {"Attributes": ["ALL"]}),
    "DetectModerationLabels": ("detect_moderation_labels", {}),
    "RecognizeCelebrities": ("recognize_celebrities", {}),
}


@pytest.mark.parametrize("sample", ["astronaut", "text"])
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_answers_match_botocore_output_shapes(
    operation: str,
    sample: str,
    samples: Any,
    call_raw: Any,
    image_param: Any,
    shape_errors: Any,
    rekognition: Any,
) -> None:
    # Given an image, When each operation is called raw and through boto3
    image = getattr(samples, sample)
    method, extra = OPERATIONS[operation]
    raw = call_raw(operation, image_param(image) | extra)
    parsed = getattr(rekognition, method)(Image={"Bytes": image}, **extra)

    # Then the JSON fits the service model and boto3 parses the same document
    assert raw.status == 200
    assert shape_errors(operation, raw.document) == []
    parsed.pop("ResponseMetadata")
    assert parsed == raw.document


def test_face_is_found_on_the_astronaut(rekognition: Any, samples: Any) -> None:
    answer = rekognition.detect_faces(Image={"Bytes": samples.astronaut}, Attributes=["ALL"])

    (face,) = answer["FaceDetails"]
    box = face["BoundingBox"]
    # Her face lies in the upper middle of the photo.
    assert 0.25 < box["Left"] < 0.45
    assert 0.05 < box["Top"] < 0.25
    assert 0.1 < box["Width"] < 0.3
    assert face["Confidence"] > 90
    assert {landmark["Type"] for landmark in face["Landmarks"]} == set(LANDMARKS)
    assert face["Gender"]["Value"] == "Female"
    assert face["EyesOpen"]["Value"] is True
    assert {"Roll", "Yaw", "Pitch"} <= face["Pose"].keys()
    assert "Smile" in face
    assert "Quality" in face
    assert "AgeRange" not in face
    assert "Emotions" not in face


def test_default_attributes_leave_out_the_extra_models(rekognition: Any, samples: Any) -> None:
    (face,) = rekognition.detect_faces(Image={"Bytes": samples.astronaut})["FaceDetails"]

    assert "Smile" not in face
    assert "Gender" not in face
    assert "EyesOpen" not in face
    assert {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"} <= face.keys()
    assert [landmark["Type"] for landmark in face["Landmarks"]] == list(DEFAULT_LANDMARKS)


def test_text_reads_back_exactly(rekognition: Any, samples: Any) -> None:
    answer = rekognition.detect_text(Image={"Bytes": samples.text})

    detections = answer["TextDetections"]
    lines = [d for d in detections if d["Type"] == "LINE"]
    words = [d for d in detections if d["Type"] == "WORD"]
    assert [line["DetectedText"] for line in lines] == list(samples.text_lines)
    assert [w["DetectedText"] for w in words] == " ".join(samples.text_lines).split()
    assert [d["Id"] for d in detections] == list(range(len(detections)))
    assert {w["ParentId"] for w in words} == {line["Id"] for line in lines}
    assert answer["TextModelVersion"]


def test_text_filters_drop_small_and_outside_words(rekognition: Any, samples: Any) -> None:
    tall_only = rekognition.detect_text(
        Image={"Bytes": samples.text}, Filters={"WordFilter": {"MinBoundingBoxHeight": 0.5}}
    )
    top_half = rekognition.detect_text(
        Image={"Bytes": samples.text},
        Filters={"RegionsOfInterest": [{"BoundingBox": {"Left": 0, "Top": 0, "Width": 1, "Height": 0.45}}]},
    )

    assert tall_only["TextDetections"] == []
    assert [d["DetectedText"] for d in top_half["TextDetections"] if d["Type"] == "LINE"] == ["HELLO WORLD 2026"]


def _labels(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {label["Name"]: label for label in answer["Labels"]}


def test_cat_label_on_chelsea(rekognition: Any, samples: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": samples.chelsea}))

    assert labels["Cat"]["Confidence"] > 80
    assert {"Pet", "Mammal", "Animal"} <= {p["Name"] for p in labels["Cat"]["Parents"]}
    assert "Animal" in labels  # parents are labels too, as in Rekognition


def test_coffee_label_on_coffee(rekognition: Any, samples: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": samples.coffee}))

    assert labels.keys() & {"Coffee", "Coffee Cup", "Cup", "Espresso"}


def test_person_instances_come_from_faces(rekognition: Any, samples: Any) -> None:
    labels = _labels(rekognition.detect_labels(Image={"Bytes": samples.astronaut}))

    (instance,) = labels["Person"]["Instances"]
    assert instance["BoundingBox"]["Width"] > 0
    assert {p["Name"] for p in labels["Face"]["Parents"]} == {"Head", "Person"}


def test_text_label_only_when_text_is_legible(rekognition: Any, samples: Any) -> None:
    assert "Text" in _labels(rekognition.detect_labels(Image={"Bytes": samples.text}))
    assert "Text" not in _labels(rekognition.detect_labels(Image={"Bytes": samples.chelsea}))


def test_max_labels_and_min_confidence_are_honoured(rekognition: Any, samples: Any) -> None:
    image = {"Bytes": samples.chelsea}
    everything = rekognition.detect_labels(Image=image, MinConfidence=0)["Labels"]
    two = rekognition.detect_labels(Image=image, MaxLabels=2, MinConfidence=0)["Labels"]
    sure = rekognition.detect_labels(Image=image, MinConfidence=90)["Labels"]

    assert two == everything[:2]
    assert all(label["Confidence"] >= 90 for label in sure)
    assert len(sure) < len(everything)
    confidences = [label["Confidence"] for label in everything]
    assert confidences == sorted(confidences, reverse=True)


def test_label_inclusion_filter(rekognition: Any, samples: Any) -> None:
    answer = rekognition.detect_labels(
        Image={"Bytes": samples.chelsea},
        Settings={"GeneralLabels": {"LabelInclusionFilters": ["Cat"]}},
    )

    assert [label["Name"] for label in answer["Labels"]] == ["Cat"]


@pytest.mark.parametrize("sample", ["astronaut", "coffee", "chelsea", "text"])
def test_no_moderation_labels_on_safe_images(rekognition: Any, samples: Any, sample: str) -> None:
    answer = rekognition.detect_moderation_labels(Image={"Bytes": getattr(samples, sample)}, MinConfidence=0)

    assert answer["ModerationLabels"] == []
    assert answer["ModerationModelVersion"]


def test_celebrities_are_never_recognized_offline(rekognition: Any, samples: Any) -> None:
    answer = rekognition.recognize_celebrities(Image={"Bytes": samples.astronaut})

    assert answer["CelebrityFaces"] == []
    (face,) = answer["UnrecognizedFaces"]
    assert face["Confidence"] > 90


def _grayscale_png(encode: Any, pixels: Any) -> bytes:
    return bytes(encode(Image.fromarray(pixels).convert("RGB"), "PNG"))


def test_cascade_faces_in_textures_are_not_trusted(rekognition: Any, encode: Any) -> None:
    # The face cascade alone "sees" faces in scikit-image's coins; no eyes, no NudeNet face.
    image = _grayscale_png(encode, data.coins())

    faces = rekognition.detect_faces(Image={"Bytes": image})["FaceDetails"]
    labels = _labels(rekognition.detect_labels(Image={"Bytes": image}))

    assert all(face["Confidence"] <= 50 for face in faces)
    assert "Person" not in labels


def test_a_face_the_cascade_misses_is_found_by_nudenet(rekognition: Any, encode: Any) -> None:
    # The cameraman looks down into his camera: no frontal face for the cascade.
    image = _grayscale_png(encode, data.camera())

    (face,) = rekognition.detect_faces(Image={"Bytes": image}, Attributes=["ALL"])["FaceDetails"]

    assert face["Gender"]["Value"] == "Male"
    assert face["BoundingBox"]["Top"] < 0.5


def test_text_stops_at_100_words(rekognition: Any, encode: Any) -> None:
    canvas = Image.new("RGB", (1400, 1000), "white")
    draw = ImageDraw.Draw(canvas)
    for row in range(12):
        line = " ".join(f"w{row}{column}" for column in range(10))
        draw.text((20, 20 + row * 80), line, fill="black", font=ImageFont.load_default(size=36))

    detections = rekognition.detect_text(Image={"Bytes": encode(canvas, "PNG")})["TextDetections"]

    words = [d for d in detections if d["Type"] == "WORD"]
    lines = [d for d in detections if d["Type"] == "LINE"]
    assert len(words) == 100
    assert {word["ParentId"] for word in words} == {line["Id"] for line in lines}


def test_no_labels_without_the_general_labels_feature(rekognition: Any, samples: Any) -> None:
    answer = rekognition.detect_labels(Image={"Bytes": samples.chelsea}, Features=["IMAGE_PROPERTIES"])

    assert answer["Labels"] == []
    assert "ImageProperties" not in answer  # not implemented, so not claimed


def test_open_nsfw_vetoes_nudenet_on_an_abstract_image(rekognition: Any, encode: Any) -> None:
    # NudeNet alone sees "exposed buttocks" (0.83) in scikit-image's colorwheel.
    image = encode(Image.fromarray(data.colorwheel()).convert("RGB"), "PNG")

    answer = rekognition.detect_moderation_labels(Image={"Bytes": image})

    assert answer["ModerationLabels"] == []
