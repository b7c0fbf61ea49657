"""Typed configuration of the dispatcher and of the webhook routes, read from environment variables."""

from __future__ import annotations

from pydantic import Field

from image_pipeline.shared.settings import EnvironmentSettings
from image_pipeline.webhooks.domain.payload import IMAGE_EVENT_TYPES


class _WebhookSettings(EnvironmentSettings):
    """What the dispatcher and the webhook routes both read."""

    table_name: str = Field(alias="WEBHOOKS_TABLE_NAME", min_length=1)
    owner_index: str = Field(alias="WEBHOOKS_OWNER_INDEX", min_length=1)
    dispatch_queue_url: str = Field(alias="DISPATCH_QUEUE_URL", min_length=1)
    # The KMS key that seals signing secrets: the API encrypts with it, the dispatcher decrypts.
    secrets_key_arn: str = Field(alias="WEBHOOK_SECRETS_KEY_ARN", min_length=1)
    # The local mode delivers to a receiver on loopback over plain HTTP; in AWS both stay off.
    allow_http: bool = Field(alias="WEBHOOK_ALLOW_HTTP", default=False)
    allowed_networks: str = Field(alias="WEBHOOK_ALLOWED_NETWORKS", default="")
    # Ports a webhook URL may name (comma-separated); other ports are refused at registration and delivery.
    allowed_ports: str = Field(
        alias="WEBHOOK_ALLOWED_PORTS", default="443", pattern=r"^\s*\d{1,5}(\s*,\s*\d{1,5})*\s*$"
    )
    max_attempts: int = Field(alias="WEBHOOK_MAX_ATTEMPTS", default=12, ge=1, le=30)
    # The wait after the first failed attempt; later waits grow threefold (domain/schedule.py). Tests shorten it.
    first_retry_seconds: float = Field(alias="WEBHOOK_FIRST_RETRY_SECONDS", default=5.0, ge=0)
    delivery_retention_days: int = Field(alias="WEBHOOK_DELIVERY_RETENTION_DAYS", default=30, ge=1)


class WebhookApiSettings(_WebhookSettings):
    """What the API function needs for the webhook routes (added by IntegrationStack.connect_api)."""

    test_sends_per_minute: int = Field(alias="WEBHOOK_TEST_SENDS_PER_MINUTE", default=5, ge=1, le=600)


class DispatcherSettings(_WebhookSettings):
    dead_letter_queue_url: str = Field(alias="WEBHOOK_DLQ_URL", min_length=1)
    timeout_seconds: float = Field(alias="WEBHOOK_TIMEOUT_SECONDS", default=15.0, gt=0, le=30)
    response_cap_bytes: int = Field(alias="WEBHOOK_RESPONSE_CAP_BYTES", default=4096, ge=0, le=65536)
    disable_after_days: float = Field(alias="WEBHOOK_DISABLE_AFTER_DAYS", default=5.0, gt=0)
    concurrency: int = Field(alias="DELIVERY_CONCURRENCY", default=10, ge=1, le=50)
    # Fairness (domain/fairness.py): attempts in flight per endpoint and per owner, and the endpoint's breaker.
    endpoint_concurrency: int = Field(alias="WEBHOOK_ENDPOINT_CONCURRENCY", default=2, ge=1, le=50)
    owner_share: int = Field(alias="WEBHOOK_OWNER_SHARE", default=1, ge=1, le=1000)
    breaker_failures: int = Field(alias="WEBHOOK_BREAKER_FAILURES", default=3, ge=1, le=100)
    breaker_open_seconds: float = Field(alias="WEBHOOK_BREAKER_OPEN_SECONDS", default=60.0, gt=0, le=900)
    breaker_max_open_seconds: float = Field(alias="WEBHOOK_BREAKER_MAX_OPEN_SECONDS", default=900.0, gt=0, le=86400)
    # Results too large for an event: the bucket their documents are in, and how long a link to one is valid.
    results_bucket_name: str = Field(alias="RESULTS_BUCKET_NAME", min_length=1)
    results_url_seconds: int = Field(alias="WEBHOOK_RESULTS_URL_SECONDS", default=3600, ge=60, le=43200)
    fixed_endpoint_url: str = Field(alias="FIXED_ENDPOINT_URL", default="")
    fixed_endpoint_secret_arn: str = Field(alias="FIXED_ENDPOINT_SECRET_ARN", default="")
    fixed_endpoint_events: str = Field(alias="FIXED_ENDPOINT_EVENTS", default=",".join(IMAGE_EVENT_TYPES))

    @property
    def fixed_events(self) -> tuple[str, ...]:
        return tuple(e.strip() for e in self.fixed_endpoint_events.split(",") if e.strip())
