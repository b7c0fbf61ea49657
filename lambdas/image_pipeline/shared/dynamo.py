"""Plain Python values <-> DynamoDB attribute values (floats travel as Decimal)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from image_pipeline.shared.errors import InvalidRequest

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(item) for item in value]
    return value


def conditional_failure(error: ClientError) -> bool:
    """A write refused by its ConditionExpression (the state it expected is not there)."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def to_item(document: dict[str, Any]) -> dict[str, Any]:
    decimals = json.loads(json.dumps(document), parse_float=Decimal)
    return {key: _serializer.serialize(value) for key, value in decimals.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def start_key(start: dict[str, Any], names: set[str], belongs: Callable[[dict[str, str]], bool]) -> dict[str, Any]:
    """A page token's key as an ExclusiveStartKey, refused unless it has exactly ``names``, all strings, and
    ``belongs`` to the query: a forged key would otherwise reach DynamoDB as an invalid start key and come
    back as a server error instead of the caller's mistake."""
    if set(start) != names or not all(isinstance(part, str) for part in start.values()) or not belongs(start):
        raise InvalidRequest("nextToken is not a token this API issued")
    return to_item(start)
