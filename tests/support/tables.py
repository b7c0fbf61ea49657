"""Tables made directly in moto for tests that need only the keys (not the synthesized templates)."""

from __future__ import annotations

from typing import Any


def create_keyed_table(client: Any, name: str) -> None:
    """A table keyed ``pk``/``sk`` (strings), on demand: the shape of the results and webhooks tables."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
