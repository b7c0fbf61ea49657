"""The base of every function's typed settings: frozen, validated, read from its environment variables once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict


class EnvironmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        return cls.model_validate(dict(environ))
