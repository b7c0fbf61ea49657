"""Typed, validated configuration of the worker, read from its environment variables once."""

from __future__ import annotations

from pydantic import Field

from image_pipeline.recognition.domain.features import Feature
from image_pipeline.shared.settings import EnvironmentSettings


class WorkerSettings(EnvironmentSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    events_topic_arn: str = Field(alias="EVENTS_TOPIC_ARN", min_length=1)
    # Where results too large for an event are written (results/<owner>/<image id>.json).
    results_bucket_name: str = Field(alias="RESULTS_BUCKET_NAME", min_length=1)
    default_features: str = Field(alias="DEFAULT_FEATURES", default="labels")
    min_confidence_labels: float = Field(alias="MIN_CONFIDENCE_LABELS", default=70.0, ge=0, le=100)
    min_confidence_text: float = Field(alias="MIN_CONFIDENCE_TEXT", default=80.0, ge=0, le=100)
    min_confidence_moderation: float = Field(alias="MIN_CONFIDENCE_MODERATION", default=50.0, ge=0, le=100)
    max_labels: int = Field(alias="MAX_LABELS", default=50, ge=1, le=1000)
    queue_url: str = Field(alias="QUEUE_URL", min_length=1)
    image_concurrency: int = Field(alias="IMAGE_CONCURRENCY", default=2, ge=1, le=10)
    rekognition_max_attempts: int = Field(alias="REKOGNITION_MAX_ATTEMPTS", default=5, ge=1, le=20)
    # ``labels=5,text=5,...``: calls per second per operation for the whole fleet (stacks/config.py).
    rekognition_quotas: str = Field(alias="REKOGNITION_QUOTAS", pattern=r"^[a-z]+=[1-9][0-9]*(,[a-z]+=[1-9][0-9]*)*$")
    token_wait_seconds: float = Field(alias="REKOGNITION_TOKEN_WAIT_SECONDS", default=5.0, ge=0, le=60)
    lock_seconds: int = Field(alias="LOCK_SECONDS", default=60, ge=1)
    # The upload queue's maxReceiveCount: a record received this often goes to the DLQ if it fails (0: unknown).
    max_receive_count: int = Field(alias="MAX_RECEIVE_COUNT", default=0, ge=0)

    def quotas(self) -> dict[str, int]:
        """Per feature; every feature must have one."""
        quotas = {name: int(tps) for name, tps in (pair.split("=") for pair in self.rekognition_quotas.split(","))}
        missing = sorted({feature.value for feature in Feature} - set(quotas))
        if missing:
            raise ValueError(f"REKOGNITION_QUOTAS names no quota for {', '.join(missing)}")
        return quotas
