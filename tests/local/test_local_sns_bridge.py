"""SNS -> Lambda locally: the topic's hidden queue feeds the function SNS events, as asynchronous invocations."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.cfn.assembly import Assembly, Stack
from local.console import Console
from local.functions.runtime import InvokeResult
from local.functions.sns_bridge import ASYNC_ATTEMPTS, SnsLambdaBridge
from local.provisioners import Provisioned, ProvisionSettings, provision

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:listener"
TEMPLATE = {
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "lambda",
                "TopicArn": {"Ref": "Topic"},
                "Endpoint": FUNCTION,
                "FilterPolicy": {"type": ["image.analyzed"]},
            },
        },
    }
}


@pytest.fixture
def provisioned(tmp_path: Path) -> Iterator[tuple[Provisioned, dict[str, Any]]]:
    with mock_aws():
        names = ("s3", "sqs", "sns", "dynamodb", "cognito-idp")
        clients = {name: boto3.client(name, region_name="us-east-1") for name in names}
        assembly = Assembly(tmp_path, [Stack("Events", TEMPLATE)])
        yield provision(assembly, clients, ProvisionSettings(work_dir=tmp_path)), clients


class Listener:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any]) -> InvokeResult:
        self.events.append(event)
        return InvokeResult(error={"errorType": "RuntimeError", "errorMessage": "boom"} if self.fail else None)


def publish(clients: dict[str, Any], topic: str, kind: str) -> None:
    clients["sns"].publish(
        TopicArn=topic,
        Message=json.dumps({"kind": kind}),
        MessageAttributes={"type": {"DataType": "String", "StringValue": kind}},
    )


def bridge(provisioned: Provisioned, clients: dict[str, Any], listener: Listener) -> SnsLambdaBridge:
    [subscription] = provisioned.sns_lambda
    return SnsLambdaBridge(subscription, clients["sqs"], listener, Console(io.StringIO()), "us-east-1")


def test_the_function_gets_an_sns_event_for_each_matching_notification(
    provisioned: tuple[Provisioned, dict[str, Any]],
) -> None:
    # Given a lambda subscription with a filter policy
    result, clients = provisioned
    [subscription] = result.sns_lambda
    assert subscription.function_arn == FUNCTION
    listener = Listener()
    feeder = bridge(result, clients, listener)
    # When one matching and one filtered-out notification are published
    publish(clients, subscription.topic_arn, "image.failed")
    publish(clients, subscription.topic_arn, "image.analyzed")
    assert feeder.poll_once() == 1
    # Then the function got one SNS event, for the matching one, shaped as Lambda delivers it
    [event] = listener.events
    [record] = event["Records"]
    assert (record["EventSource"], record["EventSubscriptionArn"]) == ("aws:sns", subscription.subscription_arn)
    assert record["Sns"]["TopicArn"] == subscription.topic_arn
    assert json.loads(record["Sns"]["Message"]) == {"kind": "image.analyzed"}
    assert record["Sns"]["MessageAttributes"]["type"]["Value"] == "image.analyzed"
    # and the filtered-out one never reached its queue
    assert clients["sqs"].receive_message(QueueUrl=subscription.queue_url).get("Messages", []) == []


def test_a_failing_function_gets_the_notification_three_times_then_it_is_dropped(
    provisioned: tuple[Provisioned, dict[str, Any]],
) -> None:
    # Given a function that always fails
    result, clients = provisioned
    [subscription] = result.sns_lambda
    listener = Listener(fail=True)
    feeder = bridge(result, clients, listener)
    publish(clients, subscription.topic_arn, "image.analyzed")
    # When each retry becomes due (the hidden queue's visibility timeout, made 0 here)
    queue = subscription.queue_url
    clients["sqs"].set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})
    for _ in range(ASYNC_ATTEMPTS):
        assert feeder.poll_once() == 1
    # Then it was invoked three times (Lambda's two retries) and the notification is gone
    assert len(listener.events) == ASYNC_ATTEMPTS
    assert clients["sqs"].receive_message(QueueUrl=subscription.queue_url).get("Messages", []) == []
