"""The rate limiter's shared counters in DynamoDB (moto): conditional takes, partial takes, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from image_pipeline.recognition.adapters.rate_ledger import DynamoSlotLedger
from image_pipeline.recognition.domain.rate_limit import RateLimiter
from tests.support.fake_ledger import ManualClock
from tests.support.tables import create_keyed_table

SLOT_START = 1_700_000_000.0


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(client, "results")
        yield client


def test_takes_are_granted_until_the_slot_is_used_up(dynamodb: Any) -> None:
    ledger = DynamoSlotLedger(dynamodb, "results")
    assert ledger.take("labels", 7, 2, 3, SLOT_START) == 2
    # Given one token left, a take of two gets the one (a second write after the failed condition)
    assert ledger.take("labels", 7, 2, 3, SLOT_START) == 1
    assert ledger.take("labels", 7, 1, 3, SLOT_START) == 0
    # Another slot and another operation have their own counters
    assert ledger.take("labels", 8, 3, 3, SLOT_START) == 3
    assert ledger.take("text", 7, 3, 3, SLOT_START) == 3
    item = dynamodb.get_item(TableName="results", Key={"pk": {"S": "RATE#labels#7"}, "sk": {"S": "RATE"}})["Item"]
    assert item["used"] == {"N": "3"}
    assert int(item["expiresAt"]["N"]) == int(SLOT_START) + 60
    # Every write is counted (the failed conditions too): what the limiter costs
    assert ledger.writes == 6


def test_two_instances_on_the_table_share_one_quota(dynamodb: Any) -> None:
    clock = ManualClock()
    ledger = DynamoSlotLedger(dynamodb, "results")
    fleet = [RateLimiter(ledger, {"labels": 6}, clock=clock, sleep=clock.sleep) for _ in range(2)]
    granted = 0
    end = clock.now + 2
    while clock.now < end:
        for limiter in fleet:
            granted += limiter.acquire("labels", deadline=clock.now + 0.001)
        clock.sleep(0.05)
    assert granted == 12
