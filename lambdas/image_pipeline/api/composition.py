"""The API function's composition root: every service its routes use, built once from its settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property, lru_cache

import boto3
from botocore.config import Config

from image_pipeline.api.settings import ApiSettings
from image_pipeline.recognition.adapters.upload_queue import UploadQueue
from image_pipeline.recognition.domain.features import parse_features
from image_pipeline.recognition.domain.reanalysis import Reanalyses
from image_pipeline.results.adapters.results_table import IndexNames, ResultsStore
from image_pipeline.results.adapters.s3_images import S3ImageObjects
from image_pipeline.results.domain.library import ImageLibrary
from image_pipeline.uploads.adapters.s3_uploads import S3UploadSigner
from image_pipeline.uploads.domain.quota import DailyQuota
from image_pipeline.uploads.domain.uploads import UploadPolicy, Uploads
from image_pipeline.webhooks.adapters.kms_secrets import KmsSecrets
from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.dispatch import DeliveryQueue, DispatchSettings
from image_pipeline.webhooks.domain.subscriptions import WebhookService
from image_pipeline.webhooks.domain.targets import TargetPolicy
from image_pipeline.webhooks.settings import WebhookApiSettings


def webhook_service(settings: WebhookApiSettings) -> WebhookService:
    repository = WebhookStore(boto3.client("dynamodb"), settings.table_name, settings.owner_index)
    queue = SqsJobQueue(boto3.client("sqs"), settings.dispatch_queue_url)
    return WebhookService(
        repository=repository,
        flows=repository,
        deliveries=DeliveryQueue(
            repository=repository,
            queue=queue,
            settings=DispatchSettings(delivery_retention_seconds=settings.delivery_retention_days * 86400),
        ),
        policy=TargetPolicy.of(settings.allow_http, settings.allowed_networks, settings.allowed_ports),
        test_sends_per_minute=settings.test_sends_per_minute,
        secrets=KmsSecrets(boto3.client("kms"), settings.secrets_key_arn),
    )


@dataclass(frozen=True)
class ApiComponents:
    settings: ApiSettings
    uploads: Uploads
    library: ImageLibrary
    reanalyses: Reanalyses

    @cached_property
    def webhooks(self) -> WebhookService:
        """Built on first use of a /webhooks route, from the variables IntegrationStack.connect_api adds."""
        return webhook_service(WebhookApiSettings.from_environ(os.environ))


@lru_cache(maxsize=1)
def components() -> ApiComponents:
    settings = ApiSettings.from_environ(os.environ)
    # Presigned links are signed with SigV4 (S3 refuses SigV2 for KMS-encrypted objects and new regions).
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    results = ResultsStore(
        boto3.client("dynamodb"), settings.table_name, IndexNames(settings.owner_index, settings.label_index)
    )
    uploads = Uploads(
        pending=results,
        signer=S3UploadSigner(s3, settings.bucket_name),
        policy=UploadPolicy(
            bucket=settings.bucket_name,
            prefix=settings.upload_prefix,
            upload_seconds=settings.upload_url_seconds,
            default_features=parse_features(settings.default_features, frozenset()),
        ),
        quota=DailyQuota(results, settings.daily_image_quota),
    )
    library = ImageLibrary(
        catalog=results,
        objects=S3ImageObjects(s3, settings.bucket_name, settings.upload_prefix),
        display_seconds=settings.display_url_seconds,
    )
    reanalyses = Reanalyses(catalog=results, queue=UploadQueue(boto3.client("sqs"), settings.upload_queue_url))
    return ApiComponents(settings=settings, uploads=uploads, library=library, reanalyses=reanalyses)
