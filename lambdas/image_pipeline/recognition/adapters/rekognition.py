"""One Rekognition call per requested feature, on the S3 object, concurrently on a bounded pool, each call
let through by the fleet-wide rate limiter (recognition/domain/rate_limit.py). botocore does not retry: a retry made
behind the limiter's back would break the quota, so throttled and 5xx calls are retried here, each attempt
through the limiter again."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from image_pipeline.recognition.adapters import rekognition_results as results
from image_pipeline.recognition.domain.features import Feature, FeatureSet
from image_pipeline.recognition.domain.ports import Recognition
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


# The quota's answers (botocore's standard and adaptive modes treat both as throttling): not a fault.
THROTTLING = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException"})


@dataclass(frozen=True)
class RecognitionOptions:
    min_confidence_labels: float
    min_confidence_text: float
    min_confidence_moderation: float
    max_labels: int
    # Attempts per call on throttling or a fault (each one through the rate limiter).
    max_attempts: int = 5
    # How long one image waits for a token of the limiter before it is put back on the queue.
    token_wait_seconds: float = 5.0


class CallGate(Protocol):
    def acquire(self, key: str, deadline: float) -> bool:
        """True when one call of ``key`` may start now; False when none could before ``deadline``."""
        ...


class _Deferred(Exception):
    """This feature was held back by the quota."""


# Each call's response is a TypedDict of the stubs; the normalisers read it as plain JSON.
Call = Callable[["ImageTypeDef"], Mapping[str, Any]]


class RekognitionRecognizer:
    def __init__(
        self,
        client: RekognitionClient,
        executor: Executor,
        options: RecognitionOptions,
        gate: CallGate,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._executor = executor
        self._options = options
        self._gate = gate
        self._clock = clock
        self._sleep = sleep
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

    def _run(self, feature: Feature, image: ImageTypeDef, deadline: float) -> Any:
        call, normalise = self._plans[feature]
        fault: Exception | None = None
        for attempt in range(self._options.max_attempts):
            if not self._gate.acquire(feature.value, deadline):
                raise _Deferred
            count_by("RekognitionCalls", "feature", feature.value)
            try:
                return normalise(call(image))
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", str(error))
                status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                if code in NON_RETRYABLE:
                    raise ImageRejected(NON_RETRYABLE[code], f"Rekognition {feature.value}: {message}") from error
                if code in THROTTLING:
                    count_by("RekognitionThrottles", "feature", feature.value)
                    fault = None
                    continue
                if status < 500:
                    raise RecognitionUnavailable(f"Rekognition {feature.value} failed: {code}") from error
                fault = RecognitionUnavailable(f"Rekognition {feature.value} failed after retries: {code}")
            except BotoCoreError as error:
                fault = RecognitionUnavailable(f"Rekognition {feature.value} unreachable: {error}")
            count_by("RekognitionFaults", "feature", feature.value)
            self._sleep(min(2.0, 0.1 * 2**attempt))
        if fault is not None:
            raise fault
        raise _Deferred  # throttled on every attempt

    def analyze(self, ref: ObjectRef, features: FeatureSet) -> Recognition:
        s3_object: S3ObjectTypeDef = {"Bucket": ref.bucket, "Name": ref.key}
        if ref.version_id:
            s3_object["Version"] = ref.version_id
        image: ImageTypeDef = {"S3Object": s3_object}
        deadline = self._clock() + self._options.token_wait_seconds
        futures = {feature: self._executor.submit(self._run, feature, image, deadline) for feature in sorted(features)}
        outcomes: dict[str, Any] = {}
        deferred: set[Feature] = set()
        faults: list[RecognitionUnavailable] = []
        rejections: list[ImageRejected] = []
        for feature, future in futures.items():
            try:
                outcomes[feature.value] = future.result()
            except _Deferred:
                deferred.add(feature)
            except RecognitionUnavailable as error:
                faults.append(error)
            except ImageRejected as error:
                rejections.append(error)
        # A rejection outranks everything: the image will never succeed, so do not retry it.
        if rejections:
            raise rejections[0]
        return Recognition(results=outcomes, deferred=frozenset(deferred), fault=faults[0] if faults else None)
