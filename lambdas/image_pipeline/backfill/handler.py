"""One batch of a backfill's listing -> PENDING images and worker messages -> the batch's counts.

The event is what a Step Functions Distributed Map with an S3 ListObjectsV2 reader and an item batcher hands its
item processor (``ops/backfill.py`` sends the same shape in the local mode):
``{"BatchInput": {"runId", "bucket", "owner", "features"}, "Items": [{"Key", "Etag", "Size", ...}, ...]}``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from image_pipeline.backfill.composition import components
from image_pipeline.backfill.domain.backfill import BackfillJob, ListedObject
from image_pipeline.recognition.domain.analysis import ANONYMOUS
from image_pipeline.recognition.domain.features import parse_features
from image_pipeline.shared.telemetry import count, logger, metrics, tracer


class BatchInput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    run_id: str = Field(alias="runId")
    bucket: str = Field(min_length=3)
    owner: str = ANONYMOUS
    features: str | None = None


class Item(BaseModel):
    key: str = Field(alias="Key")
    # Step Functions' S3 item reader says "Etag"; S3's own ListObjectsV2 answer "ETag".
    etag: str = Field(validation_alias=AliasChoices("Etag", "ETag"), default="")
    size: int = Field(alias="Size", ge=0)


class BatchEvent(BaseModel):
    batch_input: BatchInput = Field(alias="BatchInput")
    items: list[Item] = Field(alias="Items")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    batch = BatchEvent.model_validate(event)
    backfill = components()
    job = BackfillJob(
        run_id=batch.batch_input.run_id,
        bucket=batch.batch_input.bucket,
        owner=batch.batch_input.owner,
        features=parse_features(batch.batch_input.features, backfill.default_features),
    )
    logger.append_keys(backfill_run=job.run_id)
    listed = [ListedObject(key=item.key, etag=item.etag, size=item.size) for item in batch.items]
    counts = backfill.backfill.run_batch(job, listed)
    count("BackfillQueued", counts.queued)
    count("BackfillSkipped", counts.skipped)
    logger.info("Backfill batch", extra=counts.as_dict())
    return counts.as_dict()
