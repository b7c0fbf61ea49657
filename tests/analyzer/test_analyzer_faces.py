"""Faces: dlib's landmarks, the pose, eyes and mouth, on faces with known answers."""

from typing import Any

import pytest

from analyzer.face_checks import Variant, landmark_error, the_face
from analyzer.face_details import FoundFace
from analyzer.models.landmarks import LANDMARKS
from analyzer.models.registry import Models
from analyzer.operations.detect_faces import open_or_shut
from analyzer.server import RunningServer


@pytest.fixture(scope="module")
def models(server: RunningServer) -> Models:
    return server.models


@pytest.fixture(scope="module")
def reference(models: Models) -> FoundFace:
    found = the_face(Variant(), models)
    assert found is not None
    return found


@pytest.mark.parametrize("degrees", [-30, -10, 20, 30])
def test_turning_the_photo_turns_the_roll_and_moves_the_landmarks_with_it(
    models: Models, reference: FoundFace, degrees: int
) -> None:
    variant = Variant(degrees=degrees)

    found = the_face(variant, models)

    assert found is not None
    assert found.shape.roll() == pytest.approx(reference.shape.roll() - degrees, abs=2.0)
    assert landmark_error(reference, variant, found) < 0.05  # of the distance between the eyes


def test_a_mirrored_face_turns_the_other_way(models: Models, reference: FoundFace) -> None:
    found = the_face(Variant(mirrored=True), models)

    assert found is not None
    pose, mirrored = reference.shape.pose(512, 512), found.shape.pose(512, 512)
    assert pose is not None
    assert mirrored is not None
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=2.0)
    assert mirrored.roll == pytest.approx(-pose.roll, abs=2.0)
    assert mirrored.pitch == pytest.approx(pose.pitch, abs=2.0)


def test_all_attributes_describe_the_astronauts_face(rekognition: Any, samples: Any) -> None:
    (face,) = rekognition.detect_faces(Image={"Bytes": samples.astronaut}, Attributes=["ALL"])["FaceDetails"]

    points = {landmark["Type"]: (landmark["X"], landmark["Y"]) for landmark in face["Landmarks"]}
    assert points.keys() == LANDMARKS.keys()
    assert points["eyeLeft"][0] < points["nose"][0] < points["eyeRight"][0]
    assert points["mouthLeft"][0] < points["mouthUp"][0] < points["mouthRight"][0]
    assert points["leftEyeBrowUp"][1] < points["eyeLeft"][1] < points["nose"][1] < points["mouthDown"][1]
    assert max(y for _, y in points.values()) == points["chinBottom"][1]
    box = face["BoundingBox"]
    assert box["Left"] < points["nose"][0] < box["Left"] + box["Width"]
    assert face["EyesOpen"]["Value"] is True
    assert face["MouthOpen"]["Value"] is True  # a smile with parted lips
    assert abs(face["Pose"]["Yaw"]) < 15
    assert "AgeRange" not in face
    assert "Emotions" not in face


def test_single_attributes_bring_only_themselves(rekognition: Any, samples: Any) -> None:
    (face,) = rekognition.detect_faces(Image={"Bytes": samples.astronaut}, Attributes=["EYES_OPEN"])["FaceDetails"]

    assert "EyesOpen" in face
    assert "MouthOpen" not in face
    assert "Smile" not in face
    assert len(face["Landmarks"]) == 5


def test_open_or_shut_confidence_grows_away_from_the_threshold() -> None:
    assert open_or_shut(0.2, 0.2) == {"Value": True, "Confidence": 50.0}
    assert open_or_shut(0.3, 0.2) == {"Value": True, "Confidence": pytest.approx(75.0)}
    assert open_or_shut(0.05, 0.2) == {"Value": False, "Confidence": pytest.approx(87.5)}
    assert open_or_shut(0.0, 0.2)["Confidence"] == 100.0
