"""Publishes domain events to the image events topic, with attributes for subscription filters."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsEventPublisher:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._sns = client
        self._topic_arn = topic_arn

    def publish(self, event: dict[str, Any]) -> None:
        self._sns.publish(
            TopicArn=self._topic_arn,
            Message=json.dumps(event, separators=(",", ":")),
            MessageAttributes={
                "type": {"DataType": "String", "StringValue": event["type"]},
                "owner": {"DataType": "String", "StringValue": event["data"]["owner"]},
            },
        )
