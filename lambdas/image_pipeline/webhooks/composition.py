"""The dispatcher's composition root: the delivery service and the pool its attempts run on, built once."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import boto3
from botocore.config import Config

from image_pipeline.results.adapters.s3_images import S3ImageObjects
from image_pipeline.webhooks.adapters.kms_secrets import KmsSecrets
from image_pipeline.webhooks.adapters.secrets import SecretValue
from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.webhooks.adapters.transport import SafeTransport
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.dispatch import Dispatcher, DispatchSettings
from image_pipeline.webhooks.domain.fairness import FairnessSettings, FlowControl
from image_pipeline.webhooks.domain.fixed import EnvironmentEndpoint
from image_pipeline.webhooks.domain.schedule import RetrySchedule
from image_pipeline.webhooks.domain.targets import TargetPolicy
from image_pipeline.webhooks.settings import DispatcherSettings

# What an attempt may take beyond its time limit (signing, recording) before its slots free themselves.
LEASE_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class DispatcherComponents:
    dispatcher: Dispatcher
    pool: ThreadPoolExecutor


@lru_cache(maxsize=1)
def components() -> DispatcherComponents:
    settings = DispatcherSettings.from_environ(os.environ)
    fixed = None
    if settings.fixed_endpoint_url and settings.fixed_endpoint_secret_arn:
        secret = SecretValue(boto3.client("secretsmanager"), settings.fixed_endpoint_secret_arn)
        fixed = EnvironmentEndpoint(
            url=settings.fixed_endpoint_url, events=settings.fixed_events, read_secret=secret.read
        )
    store = WebhookStore(boto3.client("dynamodb"), settings.table_name, settings.owner_index)
    dispatcher = Dispatcher(
        repository=store,
        queue=SqsJobQueue(boto3.client("sqs"), settings.dispatch_queue_url, settings.dead_letter_queue_url),
        transport=SafeTransport(
            TargetPolicy.of(settings.allow_http, settings.allowed_networks, settings.allowed_ports),
            timeout_seconds=settings.timeout_seconds,
            body_cap_bytes=settings.response_cap_bytes,
        ),
        settings=DispatchSettings(
            schedule=RetrySchedule(
                max_attempts=settings.max_attempts, first_delay_seconds=settings.first_retry_seconds
            ),
            disable_after_seconds=settings.disable_after_days * 86400,
            delivery_retention_seconds=settings.delivery_retention_days * 86400,
            results_url_seconds=settings.results_url_seconds,
        ),
        secrets=KmsSecrets(boto3.client("kms"), settings.secrets_key_arn),
        fixed=fixed,
        flows=FlowControl(store=store, settings=fairness(settings)),
        # Signature Version 4: botocore would presign S3 GETs with the deprecated SigV2 otherwise.
        links=S3ImageObjects(boto3.client("s3", config=Config(signature_version="s3v4")), settings.results_bucket_name),
    )
    pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="webhook")
    return DispatcherComponents(dispatcher=dispatcher, pool=pool)


def fairness(settings: DispatcherSettings) -> FairnessSettings:
    return FairnessSettings(
        endpoint_concurrency=settings.endpoint_concurrency,
        owner_share=settings.owner_share,
        # A lease outlives the attempt's time limit (which covers DNS, connect, TLS, status and headers).
        lease_seconds=settings.timeout_seconds + LEASE_MARGIN_SECONDS,
        breaker_failures=settings.breaker_failures,
        breaker_open_seconds=settings.breaker_open_seconds,
        breaker_max_open_seconds=max(settings.breaker_open_seconds, settings.breaker_max_open_seconds),
    )
