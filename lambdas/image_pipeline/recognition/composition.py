"""The worker's composition root: the analysis service and its limits, built once from its settings."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from image_pipeline.events.adapters.sns_events import SnsEventPublisher
from image_pipeline.recognition.adapters.rekognition import RecognitionOptions, RekognitionRecognizer
from image_pipeline.recognition.adapters.s3_objects import S3ObjectStore
from image_pipeline.recognition.domain.analysis import AnalysisSettings, ImageAnalysis
from image_pipeline.recognition.domain.features import Feature, parse_features
from image_pipeline.recognition.settings import WorkerSettings
from image_pipeline.results.adapters.results_table import ResultsStore

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient


@dataclass(frozen=True)
class WorkerComponents:
    analysis: ImageAnalysis
    image_concurrency: int


def rekognition_client(settings: WorkerSettings) -> RekognitionClient:
    """Throttling and 5xx answers are retried by botocore with backoff (adaptive mode also slows the client)."""
    retries = {"mode": "adaptive", "total_max_attempts": settings.rekognition_max_attempts}
    client: RekognitionClient = boto3.client("rekognition", config=Config(retries=retries))
    return client


@lru_cache(maxsize=1)
def components() -> WorkerComponents:
    settings = WorkerSettings.from_environ(os.environ)
    calls = ThreadPoolExecutor(max_workers=settings.image_concurrency * len(Feature), thread_name_prefix="rekognition")
    analysis = ImageAnalysis(
        objects=S3ObjectStore(boto3.client("s3")),
        recognizer=RekognitionRecognizer(
            rekognition_client(settings),
            calls,
            RecognitionOptions(
                min_confidence_labels=settings.min_confidence_labels,
                min_confidence_text=settings.min_confidence_text,
                min_confidence_moderation=settings.min_confidence_moderation,
                max_labels=settings.max_labels,
            ),
        ),
        repository=ResultsStore(boto3.client("dynamodb"), settings.table_name),
        publisher=SnsEventPublisher(boto3.client("sns"), settings.events_topic_arn),
        settings=AnalysisSettings(
            default_features=parse_features(settings.default_features, frozenset()), lock_seconds=settings.lock_seconds
        ),
    )
    return WorkerComponents(analysis=analysis, image_concurrency=settings.image_concurrency)
