"""SQS -> dispatcher: image events fan out to delivery jobs; each job makes one signed delivery attempt."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from image_pipeline.shared.telemetry import logger, metrics, tracer
from image_pipeline.webhooks.composition import components


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    current = components()

    async def one(record: SQSRecord) -> str:
        # Deliveries wait on the network: the batch's records run side by side on a bounded pool.
        return await asyncio.get_running_loop().run_in_executor(
            current.pool, current.dispatcher.handle, json.loads(record.body)
        )

    # One processor per invocation: its state is the batch's (an invocation never shares it with another).
    batch = AsyncBatchProcessor(
        event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=cast(logging.Logger, logger)
    )
    return async_process_partial_response(event=event, record_handler=one, processor=batch, context=context)
