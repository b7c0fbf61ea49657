"""One SQS message -> the uploads it names -> their outcomes."""

from __future__ import annotations

from image_pipeline.recognition.domain.analysis import AnalysisOutcome, ImageAnalysis
from image_pipeline.recognition.domain.s3_events import parse_notification
from image_pipeline.shared.errors import ObjectSuperseded
from image_pipeline.shared.telemetry import logger


def process_message(service: ImageAnalysis, body: str) -> list[str]:
    """Outcomes of every upload in the message. Raises (so the record is retried) only on retryable errors;
    a malformed body raises too and, after maxReceiveCount, rests in the DLQ for a person to read."""
    outcomes = []
    try:
        for ref in parse_notification(body):
            try:
                outcomes.append(service.process(ref).value)
            except ObjectSuperseded as gone:
                logger.info("Skipped: object gone or overwritten", extra={"reason": str(gone)})
                outcomes.append(AnalysisOutcome.SUPERSEDED.value)
    finally:
        logger.thread_safe_clear_keys()
    return outcomes
