"""Entry point of the api function: the handler lives in image_pipeline/api/handler.py.

A cold start imports boto3 and the telemetry only; the handler's module (pydantic settings and models,
Powertools' utilities) is imported by the first invocation (bench/import_time.py, docs/observability.md).
"""

from typing import Any

import boto3  # noqa: F401 - at cold start: every invocation needs it

from image_pipeline.shared import telemetry  # noqa: F401 - at cold start: logger, metrics, tracer


def handler(event: Any, context: Any) -> Any:
    from image_pipeline.api.handler import handler as api

    return api(event, context)
