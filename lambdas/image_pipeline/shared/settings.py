"""The base of every function's typed settings: frozen, validated, read from its environment variables once.

A settings model is the one contract between a stack and its function: the construct builds the function's
environment with ``environment(...)`` (names and defaults are written only in the model), and the function
reads it back with ``from_environ``. Settings modules import nothing but pydantic and this module, so the CDK
app can import them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ",".join(str(item) for item in value)
    return str(value)


class EnvironmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        return cls.model_validate(dict(environ))

    @classmethod
    def variable_names(cls) -> frozenset[str]:
        """Every environment variable the model reads."""
        return frozenset(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def environment(cls, **values: object) -> dict[str, str]:
        """Environment variables for the given field values (left-out fields take the model's default in the
        function); a name the model does not have is refused. Sequences become comma-separated text."""
        unknown = sorted(set(values) - set(cls.model_fields))
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
        return {cls.model_fields[name].alias or name: _text(value) for name, value in values.items()}
