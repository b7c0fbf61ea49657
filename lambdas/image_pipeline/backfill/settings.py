"""Typed, validated configuration of the backfill function, read from its environment variables once."""

from __future__ import annotations

from pydantic import Field

from image_pipeline.shared.settings import EnvironmentSettings


class BackfillSettings(EnvironmentSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    queue_url: str = Field(alias="QUEUE_URL", min_length=1)
    # ``bucket/prefix/,other-bucket``: where a backfill may read (the worker is granted exactly these).
    allowed_sources: str = Field(alias="ALLOWED_SOURCES", min_length=1)
    default_features: str = Field(alias="DEFAULT_FEATURES", default="labels")
    # A batch waits (is retried by the state machine) while more messages than this wait on the upload queue.
    max_backlog: int = Field(alias="MAX_BACKLOG", default=2000, ge=1)

    def sources(self) -> list[str]:
        return [source.strip() for source in self.allowed_sources.split(",") if source.strip()]
