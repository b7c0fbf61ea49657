"""The backfill function's composition root: the service, built once from its settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import boto3

from image_pipeline.backfill.adapters.images import BackfillImages, SqsWorkQueue
from image_pipeline.backfill.adapters.runs_table import BackfillRuns
from image_pipeline.backfill.domain.backfill import Backfill, SourceLocation
from image_pipeline.backfill.settings import BackfillSettings
from image_pipeline.recognition.domain.features import FeatureSet, parse_features
from image_pipeline.results.adapters.results_table import ResultsStore


@dataclass(frozen=True)
class BackfillComponents:
    backfill: Backfill
    default_features: FeatureSet


@lru_cache(maxsize=1)
def components() -> BackfillComponents:
    settings = BackfillSettings.from_environ(os.environ)
    dynamodb = boto3.client("dynamodb")
    service = Backfill(
        catalog=BackfillImages(ResultsStore(dynamodb, settings.table_name)),
        queue=SqsWorkQueue(boto3.client("sqs"), settings.queue_url),
        ledger=BackfillRuns(dynamodb, settings.table_name),
        sources=[SourceLocation.parse(source) for source in settings.sources()],
        max_backlog=settings.max_backlog,
    )
    return BackfillComponents(backfill=service, default_features=parse_features(settings.default_features, frozenset()))
