"""SQS -> worker: each record names S3 uploads; each upload is analysed once (see domain.analysis)."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from image_pipeline.events.adapters.sns_events import SnsEventPublisher
from image_pipeline.recognition.adapters.rekognition import RekognitionRecognizer
from image_pipeline.recognition.adapters.s3_objects import S3ObjectStore
from image_pipeline.recognition.domain.analysis import ImageAnalysis
from image_pipeline.recognition.domain.features import Feature
from image_pipeline.recognition.intake import process_message
from image_pipeline.recognition.settings import WorkerSettings
from image_pipeline.results.adapters.results_table import ResultsTable
from image_pipeline.shared.telemetry import logger, metrics, tracer

# A batch in which every record failed is reported like any other, record by record; each failed
# record is logged with its traceback (Powertools' Logger stands in for the logging.Logger it asks for).
processor = AsyncBatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=cast(logging.Logger, logger)
)


def rekognition_client(settings: WorkerSettings) -> Any:
    """Throttling and 5xx answers are retried by botocore with backoff (adaptive mode also slows the client)."""
    retries = {"mode": "adaptive", "total_max_attempts": settings.rekognition_max_attempts}
    return boto3.client("rekognition", config=Config(retries=retries))


@lru_cache(maxsize=1)
def analysis() -> tuple[ImageAnalysis, WorkerSettings]:
    settings = WorkerSettings.from_environ(os.environ)
    rekognition = rekognition_client(settings)
    calls = ThreadPoolExecutor(max_workers=settings.image_concurrency * len(Feature), thread_name_prefix="rekognition")
    service = ImageAnalysis(
        objects=S3ObjectStore(boto3.client("s3")),
        recognizer=RekognitionRecognizer(rekognition, calls, settings.recognition()),
        repository=ResultsTable(boto3.client("dynamodb"), settings.table_name),
        publisher=SnsEventPublisher(boto3.client("sns"), settings.events_topic_arn),
        settings=settings.analysis(),
    )
    return service, settings


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    service, settings = analysis()
    slots = asyncio.Semaphore(settings.image_concurrency)

    async def record_handler(record: SQSRecord) -> list[str]:
        async with slots:
            return await asyncio.to_thread(process_message, service, record.body)

    return async_process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
