"""Powertools Logger and Metrics, and our Tracer (shared/tracing.py), shared by handlers and domain code."""

from __future__ import annotations

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

from image_pipeline.shared.tracing import Tracer

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def count(name: str, value: float = 1, *, unit: str = "Count") -> None:
    metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)


def count_now(name: str) -> None:
    """A count flushed at once, with the service as its only dimension (safe from the dispatcher's threads)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1):
        pass


def count_by(name: str, dimension: str, value: str) -> None:
    """A count with one dimension of its own (e.g. Rekognition calls per feature)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name=dimension, value=value)
