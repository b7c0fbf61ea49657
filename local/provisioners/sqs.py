"""SQS: queues with their visibility timeout, retention, delay and redrive policy."""

from __future__ import annotations

import json

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner

_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def create_queue(context: Context, resource: Resource) -> None:
    props = resource.properties
    fifo = bool(props.get("FifoQueue"))
    name = context.name(resource, "QueueName", 80, suffix=".fifo" if fifo else "")
    attributes: dict[str, str] = {
        key: str(context.value(resource, props[key])).lower()
        if isinstance(props[key], bool)
        else str(context.value(resource, props[key]))
        for key in _ATTRIBUTES
        if key in props
    }
    if "RedrivePolicy" in props:
        redrive = context.value(resource, props["RedrivePolicy"])
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": redrive["maxReceiveCount"]}
        )
    url, arn = new_queue(context, name, attributes)
    context.physical.set(resource.key, url, Arn=arn, QueueName=name, QueueUrl=url)


def new_queue(context: Context, name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    """(url, arn) of a new moto queue; provisioners that need a queue's URL from its ARN find it here."""
    sqs = context.clients["sqs"]
    url = str(sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"])
    arn = str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    context.queue_urls[arn] = url
    return url, arn


PROVISIONERS = {
    "AWS::SQS::Queue": ResourceProvisioner(
        "a moto queue with visibility timeout, retention, delay and redrive policy", create_queue
    ),
}
