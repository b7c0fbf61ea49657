"""SQS -> worker: each record names S3 uploads; each upload is analysed once (see domain.analysis), its
Rekognition calls let through by the fleet-wide rate limiter (domain.rate_limit)."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from image_pipeline.adapters.rate_ledger import DynamoSlotLedger
from image_pipeline.adapters.rekognition import RekognitionRecognizer
from image_pipeline.adapters.results_table import ResultsTable
from image_pipeline.adapters.s3_objects import S3ObjectStore
from image_pipeline.adapters.sns_events import SnsEventPublisher
from image_pipeline.adapters.upload_queue import UploadQueue, deferrals_of
from image_pipeline.domain.analysis import ImageAnalysis
from image_pipeline.domain.features import Feature
from image_pipeline.domain.intake import QueuedMessage, receive
from image_pipeline.domain.rate_limit import RateLimiter
from image_pipeline.settings import WorkerSettings
from image_pipeline.telemetry import logger, metrics, tracer

# A batch in which every record failed is reported like any other, record by record; each failed
# record is logged with its traceback (Powertools' Logger stands in for the logging.Logger it asks for).
processor = AsyncBatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=cast(logging.Logger, logger)
)


def rekognition_client(settings: WorkerSettings) -> Any:
    """No retries in botocore: each attempt must pass the rate limiter (the recognizer retries)."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=50)
    return boto3.client("rekognition", config=config)


@dataclass(frozen=True)
class Worker:
    service: ImageAnalysis
    settings: WorkerSettings
    requeue: UploadQueue
    limiter: RateLimiter
    # One thread per image in flight (asyncio's default pool has only a few per CPU).
    images: ThreadPoolExecutor


@lru_cache(maxsize=1)
def worker() -> Worker:
    settings = WorkerSettings.from_environ(os.environ)
    dynamodb = boto3.client("dynamodb", config=Config(max_pool_connections=50))
    limiter = RateLimiter(DynamoSlotLedger(dynamodb, settings.table_name), settings.quotas())
    calls = ThreadPoolExecutor(max_workers=settings.image_concurrency * len(Feature), thread_name_prefix="rekognition")
    service = ImageAnalysis(
        objects=S3ObjectStore(boto3.client("s3")),
        recognizer=RekognitionRecognizer(rekognition_client(settings), calls, settings.recognition(), limiter),
        repository=ResultsTable(dynamodb, settings.table_name),
        publisher=SnsEventPublisher(boto3.client("sns"), settings.events_topic_arn),
        settings=settings.analysis(),
    )
    images = ThreadPoolExecutor(max_workers=settings.image_concurrency, thread_name_prefix="image")
    return Worker(service, settings, UploadQueue(boto3.client("sqs"), settings.queue_url), limiter, images)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    parts = worker()
    slots = asyncio.Semaphore(parts.settings.image_concurrency)

    async def record_handler(record: SQSRecord) -> list[str]:
        message = QueuedMessage(body=record.body, deferrals=deferrals_of(record.message_attributes))
        async with slots:
            return await asyncio.get_running_loop().run_in_executor(
                parts.images, receive, parts.service, parts.requeue, message
            )

    return async_process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
