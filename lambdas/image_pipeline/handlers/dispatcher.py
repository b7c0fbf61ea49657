"""SQS -> dispatcher: image events fan out to delivery jobs; each job makes one signed delivery attempt."""

from __future__ import annotations

import asyncio
import json
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

from image_pipeline.adapters.secrets import SecretValue
from image_pipeline.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.adapters.webhooks_table import WebhooksTable
from image_pipeline.telemetry import logger, metrics, tracer
from image_pipeline.webhooks.dispatch import Dispatcher
from image_pipeline.webhooks.fairness import FlowControl
from image_pipeline.webhooks.fixed import EnvironmentEndpoint
from image_pipeline.webhooks.settings import DispatcherSettings
from image_pipeline.webhooks.transport import SafeTransport


@lru_cache(maxsize=1)
def dispatcher() -> tuple[Dispatcher, ThreadPoolExecutor]:
    settings = DispatcherSettings.from_environ(os.environ)
    fixed = None
    if settings.fixed_endpoint_url and settings.fixed_endpoint_secret_arn:
        secret = SecretValue(boto3.client("secretsmanager"), settings.fixed_endpoint_secret_arn)
        fixed = EnvironmentEndpoint(
            url=settings.fixed_endpoint_url, events=settings.fixed_events, read_secret=secret.read
        )
    table = WebhooksTable(boto3.client("dynamodb"), settings.table_name, settings.owner_index)
    service = Dispatcher(
        repository=table,
        queue=SqsJobQueue(boto3.client("sqs"), settings.dispatch_queue_url, settings.dead_letter_queue_url),
        transport=SafeTransport(
            settings.policy(), timeout_seconds=settings.timeout_seconds, body_cap_bytes=settings.response_cap_bytes
        ),
        settings=settings.dispatch(),
        fixed=fixed,
        flows=FlowControl(store=table, settings=settings.fairness()),
    )
    return service, ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="webhook")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    service, pool = dispatcher()

    async def one(record: SQSRecord) -> str:
        # Deliveries wait on the network: the batch's records run side by side on a bounded pool.
        return await asyncio.get_running_loop().run_in_executor(pool, service.handle, json.loads(record.body))

    # One processor per invocation: its state is the batch's (an invocation never shares it with another).
    batch = AsyncBatchProcessor(
        event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=cast(logging.Logger, logger)
    )
    return async_process_partial_response(event=event, record_handler=one, processor=batch, context=context)
