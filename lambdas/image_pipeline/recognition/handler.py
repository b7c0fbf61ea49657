"""SQS -> worker: each record names S3 uploads; each upload is analysed once (see recognition/domain/analysis.py),
its Rekognition calls let through by the fleet-wide rate limiter (recognition/domain/rate_limit.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from image_pipeline.recognition.adapters.upload_queue import deferrals_of
from image_pipeline.recognition.composition import components
from image_pipeline.recognition.intake import QueuedMessage, receive
from image_pipeline.shared.telemetry import logger, metrics, tracer

# A batch in which every record failed is reported like any other, record by record; each failed
# record is logged with its traceback (Powertools' Logger stands in for the logging.Logger it asks for).
processor = AsyncBatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=cast(logging.Logger, logger)
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    worker = components()
    slots = asyncio.Semaphore(worker.image_concurrency)

    async def record_handler(record: SQSRecord) -> list[str]:
        receives = int(record.attributes.get("ApproximateReceiveCount") or 1)
        message = QueuedMessage(
            body=record.body,
            deferrals=deferrals_of(record.message_attributes),
            last_receive=0 < worker.max_receive_count <= receives,
        )
        async with slots:
            return await asyncio.get_running_loop().run_in_executor(
                worker.images, receive, worker.analysis, worker.requeue, message
            )

    return async_process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
