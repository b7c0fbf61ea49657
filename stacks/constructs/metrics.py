"""The metrics the dashboard and alarms read: what the functions emit (Powertools EMF) and AWS/Rekognition.

The functions emit into namespace ``ImagePipeline`` with their ``service`` (POWERTOOLS_SERVICE_NAME) as a
dimension; an infra test keeps these names equal to the functions' settings in the templates.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from stacks.config import FEATURES
from stacks.constructs.recognition_worker import REKOGNITION_ACTIONS

NAMESPACE = "ImagePipeline"
WORKER_SERVICE = "recognition-worker"
DISPATCHER_SERVICE = "webhook-dispatcher"
# Feature (the worker's RekognitionCalls dimension) -> Rekognition operation (AWS/Rekognition's dimension).
OPERATIONS = dict(zip(FEATURES, (action.split(":", 1)[1] for action in REKOGNITION_ACTIONS), strict=True))
# Outcomes of one webhook attempt (image_pipeline.webhooks.model.Outcome).
WEBHOOK_OUTCOMES = ("delivered", "retry", "failed", "gone", "refused")

# Graphed but not emitted by the functions yet (the dashboard shows no data for them until they are):
# - the worker: milliseconds from the upload's S3 event time to the stored result, per image
END_TO_END_LATENCY = "EndToEndLatency"
# The worker counts the throttling answers it meets (each retry through the rate limiter included), by ``feature``.
REKOGNITION_THROTTLES = "RekognitionThrottles"
# - the dispatcher: milliseconds of one delivery attempt
WEBHOOK_LATENCY = "WebhookLatency"
NOT_YET_EMITTED = (END_TO_END_LATENCY, WEBHOOK_LATENCY)


def _emitted(
    service: str, name: str, statistic: str, period: Duration, label: str | None, dimensions: dict[str, str]
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service, **dimensions},
        statistic=statistic,
        period=period,
        label=label,
    )


def worker(
    name: str, statistic: str, period: Duration, *, label: str | None = None, **dimensions: str
) -> cloudwatch.Metric:
    return _emitted(WORKER_SERVICE, name, statistic, period, label, dimensions)


def dispatcher(
    name: str, statistic: str, period: Duration, *, label: str | None = None, **dimensions: str
) -> cloudwatch.Metric:
    return _emitted(DISPATCHER_SERVICE, name, statistic, period, label, dimensions)


def rekognition(name: str, operation: str, period: Duration, *, label: str | None = None) -> cloudwatch.Metric:
    """Rekognition's own per-operation metric (account-wide in the region, every caller included)."""
    return cloudwatch.Metric(
        namespace="AWS/Rekognition",
        metric_name=name,
        dimensions_map={"Operation": operation},
        statistic="Sum",
        period=period,
        label=label,
    )
