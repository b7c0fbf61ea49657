"""Checks of request parameters shared by the operations; failures are InvalidParameter."""

from collections.abc import Collection
from typing import Any

from analyzer.errors import InvalidParameterException
from analyzer.operations import Params


def percent(params: Params, name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise InvalidParameterException(f"{name} must be a number between 0 and 100")
    return float(value)


def ratio(params: Params, name: str) -> float:
    value = params.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidParameterException(f"{name} must be a number between 0 and 1")
    return float(value)


def optional_count(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterException(f"{name} must be a non-negative integer")
    return value


def string_list(params: Params, name: str, allowed: Collection[str] | None = None) -> list[str]:
    value = params.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidParameterException(f"{name} must be a list of strings")
    if allowed is not None:
        unknown = [item for item in value if item not in allowed]
        if unknown:
            raise InvalidParameterException(f"{name} has unsupported values: {unknown}")
    return value


def structure(params: Params, name: str) -> Params:
    value: Any = params.get(name, {})
    if not isinstance(value, dict):
        raise InvalidParameterException(f"{name} must be an object")
    return value
