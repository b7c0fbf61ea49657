"""One Rekognition call per requested feature, on the S3 object, concurrently on a bounded pool."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from image_pipeline.recognition.adapters import rekognition_results as results
from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.shared.errors import ImageRejected, RecognitionUnavailable
from image_pipeline.shared.telemetry import count_by

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_rekognition.type_defs import ImageTypeDef, S3ObjectTypeDef


# Rekognition errors that no retry can mend: the image is recorded as FAILED.
NON_RETRYABLE = {
    "InvalidImageFormatException": "REKOGNITION_INVALID_IMAGE_FORMAT",
    "ImageTooLargeException": "REKOGNITION_IMAGE_TOO_LARGE",
    "InvalidParameterException": "REKOGNITION_INVALID_PARAMETER",
    "InvalidS3ObjectException": "REKOGNITION_INVALID_S3_OBJECT",
}


@dataclass(frozen=True)
class RecognitionOptions:
    min_confidence_labels: float
    min_confidence_text: float
    min_confidence_moderation: float
    max_labels: int


# Each call's response is a TypedDict of the stubs; the normalisers read it as plain JSON.
Call = Callable[["ImageTypeDef"], Mapping[str, Any]]


class RekognitionRecognizer:
    def __init__(self, client: RekognitionClient, executor: Executor, options: RecognitionOptions) -> None:
        self._executor = executor
        self._plans: dict[Feature, tuple[Call, Callable[[Any], Any]]] = {
            Feature.LABELS: (
                lambda image: client.detect_labels(
                    Image=image, MaxLabels=options.max_labels, MinConfidence=options.min_confidence_labels
                ),
                results.normalise_labels,
            ),
            Feature.TEXT: (
                lambda image: client.detect_text(
                    Image=image, Filters={"WordFilter": {"MinConfidence": options.min_confidence_text}}
                ),
                results.normalise_text,
            ),
            Feature.FACES: (
                lambda image: client.detect_faces(Image=image, Attributes=["ALL"]),
                results.normalise_faces,
            ),
            Feature.MODERATION: (
                lambda image: client.detect_moderation_labels(
                    Image=image, MinConfidence=options.min_confidence_moderation
                ),
                results.normalise_moderation,
            ),
            Feature.CELEBRITIES: (
                lambda image: client.recognize_celebrities(Image=image),
                results.normalise_celebrities,
            ),
        }

    def _run(self, feature: Feature, image: ImageTypeDef) -> Any:
        call, normalise = self._plans[feature]
        count_by("RekognitionCalls", "feature", feature.value)
        try:
            return normalise(call(image))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            if code in NON_RETRYABLE:
                raise ImageRejected(NON_RETRYABLE[code], f"Rekognition {feature.value}: {message}") from error
            raise RecognitionUnavailable(f"Rekognition {feature.value} failed after retries: {code}") from error
        except BotoCoreError as error:
            raise RecognitionUnavailable(f"Rekognition {feature.value} unreachable: {error}") from error

    def analyze(self, ref: ObjectRef, features: FeatureSet) -> dict[str, Any]:
        s3_object: S3ObjectTypeDef = {"Bucket": ref.bucket, "Name": ref.key}
        if ref.version_id:
            s3_object["Version"] = ref.version_id
        image: ImageTypeDef = {"S3Object": s3_object}
        ordered = sorted(features)
        futures = {feature: self._executor.submit(self._run, feature, image) for feature in ordered}
        # A rejection outranks an outage: the image will never succeed, so do not retry it.
        outcomes: dict[str, Any] = {}
        errors: list[Exception] = []
        for feature, future in futures.items():
            try:
                outcomes[feature.value] = future.result()
            except (ImageRejected, RecognitionUnavailable) as error:
                errors.append(error)
        rejections = [error for error in errors if isinstance(error, ImageRejected)]
        if rejections:
            raise rejections[0]
        if errors:
            raise errors[0]
        return outcomes
