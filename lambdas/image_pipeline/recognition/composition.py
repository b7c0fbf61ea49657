"""The worker's composition root: the analysis service, its rate limiter and its limits, built once from its
settings."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from image_pipeline.backfill.adapters.runs_table import BackfillRuns
from image_pipeline.events.adapters.sns_events import SnsEventPublisher
from image_pipeline.recognition.adapters.rate_ledger import DynamoSlotLedger
from image_pipeline.recognition.adapters.rekognition import RecognitionOptions, RekognitionRecognizer
from image_pipeline.recognition.adapters.s3_objects import S3ObjectStore
from image_pipeline.recognition.adapters.upload_queue import UploadQueue
from image_pipeline.recognition.domain.analysis import AnalysisSettings, ImageAnalysis
from image_pipeline.recognition.domain.features import Feature, parse_features
from image_pipeline.recognition.domain.rate_limit import RateLimiter
from image_pipeline.recognition.settings import WorkerSettings
from image_pipeline.results.adapters.results_table import ResultsStore
from image_pipeline.results.adapters.s3_results import S3ResultDocuments

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient


@dataclass(frozen=True)
class WorkerComponents:
    analysis: ImageAnalysis
    image_concurrency: int
    max_receive_count: int  # 0: unknown (no receive is known to be the last)
    requeue: UploadQueue
    limiter: RateLimiter
    # One thread per image in flight (asyncio's default pool has only a few per CPU).
    images: ThreadPoolExecutor


def rekognition_client(settings: WorkerSettings) -> RekognitionClient:
    """No retries in botocore: each attempt must pass the rate limiter (the recognizer retries)."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=50)
    client: RekognitionClient = boto3.client("rekognition", config=config)
    return client


@lru_cache(maxsize=1)
def components() -> WorkerComponents:
    settings = WorkerSettings.from_environ(os.environ)
    dynamodb = boto3.client("dynamodb", config=Config(max_pool_connections=50))
    limiter = RateLimiter(DynamoSlotLedger(dynamodb, settings.table_name), settings.quotas())
    calls = ThreadPoolExecutor(max_workers=settings.image_concurrency * len(Feature), thread_name_prefix="rekognition")
    s3 = boto3.client("s3")
    analysis = ImageAnalysis(
        objects=S3ObjectStore(s3),
        recognizer=RekognitionRecognizer(
            rekognition_client(settings),
            calls,
            RecognitionOptions(
                min_confidence_labels=settings.min_confidence_labels,
                min_confidence_text=settings.min_confidence_text,
                min_confidence_moderation=settings.min_confidence_moderation,
                max_labels=settings.max_labels,
                max_attempts=settings.rekognition_max_attempts,
                token_wait_seconds=settings.token_wait_seconds,
            ),
            limiter,
        ),
        repository=ResultsStore(dynamodb, settings.table_name),
        publisher=SnsEventPublisher(boto3.client("sns"), settings.events_topic_arn),
        settings=AnalysisSettings(
            default_features=parse_features(settings.default_features, frozenset()), lock_seconds=settings.lock_seconds
        ),
        documents=S3ResultDocuments(s3, settings.results_bucket_name),
        progress=BackfillRuns(dynamodb, settings.table_name),
    )
    return WorkerComponents(
        analysis=analysis,
        image_concurrency=settings.image_concurrency,
        max_receive_count=settings.max_receive_count,
        requeue=UploadQueue(boto3.client("sqs"), settings.queue_url),
        limiter=limiter,
        images=ThreadPoolExecutor(max_workers=settings.image_concurrency, thread_name_prefix="image"),
    )
