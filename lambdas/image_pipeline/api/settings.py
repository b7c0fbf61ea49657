"""Typed, validated configuration of the API function, read from its environment variables once."""

from __future__ import annotations

from pydantic import Field

from image_pipeline.shared.settings import EnvironmentSettings


class ApiSettings(EnvironmentSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    owner_index: str = Field(alias="OWNER_INDEX_NAME", min_length=1)
    label_index: str = Field(alias="LABEL_INDEX_NAME", min_length=1)
    bucket_name: str = Field(alias="BUCKET_NAME", min_length=1)
    upload_prefix: str = Field(alias="UPLOAD_PREFIX", default="uploads/")
    upload_url_seconds: int = Field(alias="UPLOAD_URL_SECONDS", default=300, ge=10, le=3600)
    display_url_seconds: int = Field(alias="DISPLAY_URL_SECONDS", default=300, ge=10, le=3600)
    default_features: str = Field(alias="DEFAULT_FEATURES", default="labels")
    # Images one user may create per UTC day (POST /images answers 429 after that).
    daily_image_quota: int = Field(alias="DAILY_IMAGE_QUOTA", default=100, ge=1)
    # The worker's upload queue, where POST /images/{id}/reanalyze puts its request (RecognitionStack.connect_api).
    upload_queue_url: str = Field(alias="UPLOAD_QUEUE_URL", default="")
    # The web page's origin, then any further origins allowed to call from a browser (comma-separated).
    allowed_origin: str = Field(alias="ALLOWED_ORIGIN", default="")
    extra_origins: str = Field(alias="EXTRA_ALLOWED_ORIGINS", default="")

    def origins(self) -> list[str]:
        return [origin for origin in [self.allowed_origin, *self.extra_origins.split(",")] if origin.strip()]
