"""Rekognition's JSON 1.1 protocol, without HTTP: a target and a body in, a status and a
JSON document out."""

import json
import logging
from dataclasses import dataclass
from typing import Any

from analyzer.analysis import AnalysisCache
from analyzer.errors import (
    RekognitionError,
    SerializationException,
    UnknownOperationException,
)
from analyzer.models.registry import Models
from analyzer.operations import (
    Operation,
    Response,
    detect_faces,
    detect_labels,
    detect_moderation_labels,
    detect_text,
    recognize_celebrities,
)
from analyzer.source import ImageSource
from analyzer.throttle import Throttle

TARGET_PREFIX = "RekognitionService."
OPERATIONS: dict[str, Operation[Any]] = {
    module.OPERATION.name: module.OPERATION
    for module in (
        detect_labels,
        detect_text,
        detect_faces,
        detect_moderation_labels,
        recognize_celebrities,
    )
}
_log = logging.getLogger(__name__)


@dataclass
class Analyzer:
    images: ImageSource
    throttle: Throttle
    analyses: AnalysisCache

    @property
    def models(self) -> Models:
        return self.analyses.models

    def handle(self, target: str | None, body: bytes) -> tuple[int, Response]:
        try:
            return 200, self._answer(target, body)
        except RekognitionError as error:
            return error.status, {"__type": error.code, "Message": error.message}
        except Exception:
            _log.exception("%s failed", target)
            return 500, {
                "__type": "InternalServerError",
                "Message": "Internal server error",
            }

    def _answer(self, target: str | None, body: bytes) -> Response:
        operation = _operation(target)
        params = _json_object(body)
        self.throttle.admit(operation.name)
        request = operation.parse(params)
        return operation.run(request, self.analyses.analysis(self.images.fetch(params)))


def _operation(target: str | None) -> Operation[Any]:
    prefix, _, name = (target or "").partition(".")
    if f"{prefix}." != TARGET_PREFIX or name not in OPERATIONS:
        raise UnknownOperationException(f"Operation {target!r} is not supported")
    return OPERATIONS[name]


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        params = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SerializationException("The request body is not valid JSON") from error
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object")
    return params
