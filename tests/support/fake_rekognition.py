"""A fake Rekognition at the HTTP layer: botocore's real retry logic sees its throttling answers."""

from __future__ import annotations

import json
from collections import Counter, defaultdict, deque
from typing import Any

from botocore.awsrequest import AWSResponse

BOX = {"Width": 0.4, "Height": 0.5, "Left": 0.1, "Top": 0.2}
ANSWERS: dict[str, dict[str, Any]] = {
    "DetectLabels": {
        "Labels": [
            {"Name": "Cat", "Confidence": 98.2, "Parents": [{"Name": "Pet"}, {"Name": "Animal"}],
             "Instances": [{"BoundingBox": BOX, "Confidence": 96.0}]},
            {"Name": "Pet", "Confidence": 98.2, "Parents": [{"Name": "Animal"}]},
        ],
        "LabelModelVersion": "3.0",
    },
    "DetectText": {
        "TextDetections": [
            {"DetectedText": "HELLO", "Type": "LINE", "Id": 0, "Confidence": 99.3, "Geometry": {"BoundingBox": BOX}},
            {"DetectedText": "HELLO", "Type": "WORD", "Id": 1, "ParentId": 0, "Confidence": 99.3,
             "Geometry": {"BoundingBox": BOX}},
        ]
    },
    "DetectFaces": {
        "FaceDetails": [
            {"BoundingBox": BOX, "Confidence": 99.9, "AgeRange": {"Low": 30, "High": 40},
             "Emotions": [{"Type": "HAPPY", "Confidence": 90.0}], "Landmarks": [{"Type": "nose", "X": 0.3, "Y": 0.4}]}
        ]
    },
    "DetectModerationLabels": {"ModerationLabels": [], "ModerationModelVersion": "7.0"},
    "RecognizeCelebrities": {"CelebrityFaces": [], "UnrecognizedFaces": [{"BoundingBox": BOX, "Confidence": 99.0}]},
}  # fmt: skip
FEATURE_OPERATIONS = {
    "labels": "DetectLabels",
    "text": "DetectText",
    "faces": "DetectFaces",
    "moderation": "DetectModerationLabels",
    "celebrities": "RecognizeCelebrities",
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


# Requests to this endpoint match no moto backend, so moto's in-process mock lets the fake answer them.
FAKE_ENDPOINT = "http://fake-rekognition.invalid"


class FakeRekognition:
    """Answers every operation with ``ANSWERS``; ``fail(op, code, times)`` scripts errors first.

    Point the client at ``FAKE_ENDPOINT`` (``AWS_ENDPOINT_URL_REKOGNITION``) before creating it.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()  # HTTP attempts per operation
        self.answered: Counter[str] = Counter()  # successful (paid) calls per operation
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._script: dict[str, deque[tuple[int, str]]] = defaultdict(deque)

    def fail(self, operation: str, code: str, times: int = 1, status: int = 400) -> None:
        self._script[operation].extend([(status, code)] * times)

    def attach(self, client: Any) -> Any:
        client.meta.events.register_first("before-send.rekognition", self._answer)
        return client

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        self.calls[operation] += 1
        self.requests.append((operation, json.loads(request.body)))
        if self._script[operation]:
            status, code = self._script[operation].popleft()
            body = {"__type": code, "Message": f"scripted {code}"}
        else:
            status, body = 200, ANSWERS[operation]
            self.answered[operation] += 1
        return AWSResponse(request.url, status, {"x-amzn-requestid": "fake"}, _Raw(json.dumps(body).encode()))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())
