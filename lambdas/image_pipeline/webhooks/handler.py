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
    records = event.get("Records", [])
    # Each body is parsed once; one that is not a JSON object stays None and fails in its own processing.
    messages = [_message(record) for record in records]
    # Jobs of an owner or endpoint this instance found busy a moment ago go back to the queue together first.
    put_back: set[int] = set()
    try:
        put_back = current.dispatcher.put_back_remembered([message or {} for message in messages])
    except Exception:  # the queue refused: every record goes its usual way, one by one
        logger.exception("Could not put back the batch's waiting jobs together")
    parsed = {record.get("messageId"): message for record, message in zip(records, messages, strict=True)}
    if put_back:
        event = {**event, "Records": [record for n, record in enumerate(records) if n not in put_back]}
        if not event["Records"]:
            return {"batchItemFailures": []}

    async def one(record: SQSRecord) -> str:
        message = parsed.get(record.message_id)
        # Deliveries wait on the network: the batch's records run side by side on a bounded pool.
        return await asyncio.get_running_loop().run_in_executor(
            current.pool, current.dispatcher.handle, message if message is not None else json.loads(record.body)
        )

    # One processor per invocation: its state is the batch's (an invocation never shares it with another).
    batch = AsyncBatchProcessor(
        event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=cast(logging.Logger, logger)
    )
    return async_process_partial_response(event=event, record_handler=one, processor=batch, context=context)


def _message(record: dict[str, Any]) -> dict[str, Any] | None:
    """A record's message, or None when it is not a JSON object (its own processing then reports it)."""
    try:
        message = json.loads(record["body"])
    except (KeyError, TypeError, ValueError):
        return None
    return message if isinstance(message, dict) else None
