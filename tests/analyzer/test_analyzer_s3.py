"""Image.S3Object, read from a moto S3 server through the analyzer's injected client."""

from pathlib import Path
from typing import Any

import pytest

from analyzer.s3 import S3ImageReader
from analyzer.server import default_s3_client


@pytest.fixture(scope="module")
def bucket(s3_client: Any, samples: Any) -> str:
    name = "analyzer-images"
    s3_client.create_bucket(Bucket=name)
    s3_client.put_object(Bucket=name, Key="uploads/cat.png", Body=samples.chelsea)
    return name


def test_image_is_read_from_s3(rekognition: Any, bucket: str) -> None:
    answer = rekognition.detect_labels(Image={"S3Object": {"Bucket": bucket, "Name": "uploads/cat.png"}})

    assert "Cat" in {label["Name"] for label in answer["Labels"]}


def test_a_given_version_is_read(rekognition: Any, s3_client: Any, samples: Any) -> None:
    s3_client.create_bucket(Bucket="versioned-images")
    s3_client.put_bucket_versioning(Bucket="versioned-images", VersioningConfiguration={"Status": "Enabled"})
    first = s3_client.put_object(Bucket="versioned-images", Key="a.png", Body=samples.text)
    s3_client.put_object(Bucket="versioned-images", Key="a.png", Body=samples.chelsea)

    answer = rekognition.detect_text(
        Image={"S3Object": {"Bucket": "versioned-images", "Name": "a.png", "Version": first["VersionId"]}}
    )

    assert answer["TextDetections"][0]["DetectedText"] == samples.text_lines[0]


@pytest.mark.parametrize(
    "location",
    [
        {"Bucket": "analyzer-images", "Name": "uploads/missing.png"},
        {"Bucket": "no-such-bucket", "Name": "uploads/cat.png"},
    ],
)
def test_unreadable_object_is_invalid(rekognition: Any, bucket: str, location: dict[str, str]) -> None:
    with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
        rekognition.detect_faces(Image={"S3Object": location})


def test_objects_over_15_mb_are_too_large(rekognition: Any, s3_client: Any, bucket: str) -> None:
    s3_client.put_object(Bucket=bucket, Key="huge.png", Body=b"\x89PNG\r\n\x1a\n" + bytes(15 * 1024 * 1024))

    with pytest.raises(rekognition.exceptions.ImageTooLargeException):
        rekognition.detect_labels(Image={"S3Object": {"Bucket": bucket, "Name": "huge.png"}})


def test_an_emulator_needs_no_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_s3: str, bucket: str, samples: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    reader = S3ImageReader(default_s3_client(moto_s3))

    assert reader.read(bucket, "uploads/cat.png") == samples.chelsea
