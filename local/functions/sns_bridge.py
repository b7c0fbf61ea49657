"""SNS -> Lambda, locally: the topic delivers to a hidden queue and this feeds the function one
notification at a time with a real-shaped SNS event, as Lambda's asynchronous invocation does
(an error is retried twice, then the notification is dropped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local.console import Console
from local.emulator import Activity
from local.functions.runtime import InvokeResult
from local.functions.sqs_poller import IDLE_INTERVAL, MappingSpec, SqsPoller
from local.provisioners import SnsLambdaSubscription

ASYNC_ATTEMPTS = 3


def sns_event(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope.get("MessageId", ""),
                    "TopicArn": envelope.get("TopicArn", ""),
                    "Subject": envelope.get("Subject"),
                    "Message": envelope.get("Message", ""),
                    "Timestamp": envelope.get("Timestamp", ""),
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", ""),
                    "SigningCertUrl": envelope.get("SigningCertURL", ""),
                    "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
                    "MessageAttributes": envelope.get("MessageAttributes", {}),
                },
            }
        ]
    }


class SnsLambdaBridge(SqsPoller):
    def __init__(
        self,
        subscription: SnsLambdaSubscription,
        sqs: Any,
        invoke: Callable[[dict[str, Any]], InvokeResult],
        console: Console,
        region: str,
        activity: Activity | None = None,
    ) -> None:
        spec = MappingSpec(
            name=f"sns->{subscription.resource.logical_id}",
            queue_url=subscription.queue_url,
            queue_arn=subscription.queue_arn,
            region=region,
            batch_size=1,
            max_concurrency=1,
        )
        super().__init__(spec, sqs, invoke, console, idle_interval=IDLE_INTERVAL, activity=activity)
        self.subscription = subscription

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return sns_event(json.loads(messages[0]["Body"]), self.subscription.subscription_arn)

    def finished(self, messages: list[dict[str, Any]], result: InvokeResult) -> list[dict[str, Any]]:
        attempts = int(messages[0].get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        return messages if not result.failed or attempts >= ASYNC_ATTEMPTS else []
