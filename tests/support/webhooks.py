"""The webhook service the API's routes use, wired to the provisioned table and dispatch queue with the local
mode's target policy (plain HTTP to loopback: local.functions.environment.LOCAL_SETTINGS)."""

from __future__ import annotations

from typing import Any

from image_pipeline.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.adapters.webhooks_table import WebhooksTable
from image_pipeline.webhooks.dispatch import DeliveryQueue, DispatchSettings
from image_pipeline.webhooks.subscriptions import WebhookService
from image_pipeline.webhooks.targets import TargetPolicy
from local.functions.environment import LOCAL_SETTINGS

LOCAL_NETWORKS = LOCAL_SETTINGS["WEBHOOK_ALLOWED_NETWORKS"]


def local_webhook_service(table: WebhooksTable, sqs: Any, queue_url: str) -> WebhookService:
    return WebhookService(
        repository=table,
        deliveries=DeliveryQueue(repository=table, queue=SqsJobQueue(sqs, queue_url), settings=DispatchSettings()),
        policy=TargetPolicy.of(allow_http=True, allowed_networks=LOCAL_NETWORKS),
    )
