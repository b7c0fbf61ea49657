"""Entry point of the backfill function: the handler lives in image_pipeline/backfill/handler.py."""

from typing import Any

import boto3  # noqa: F401 - at cold start: every invocation needs it

from image_pipeline.shared import telemetry  # noqa: F401 - at cold start: logger, metrics, tracer


def handler(event: Any, context: Any) -> Any:
    from image_pipeline.backfill.handler import handler as backfill

    return backfill(event, context)
