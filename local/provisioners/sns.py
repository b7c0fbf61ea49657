"""SNS: topics and subscriptions (an SNS -> Lambda subscription is carried by a hidden queue)."""

from __future__ import annotations

import json

from local.cfn.assembly import Resource
from local.provisioners.base import (
    Context,
    ResourceProvisioner,
    SnsLambdaSubscription,
    UnsupportedResource,
    physical_name,
)
from local.provisioners.sqs import new_queue

_PROTOCOLS = ("sqs", "http", "https", "email", "email-json", "sms")


def create_topic(context: Context, resource: Resource) -> None:
    props = resource.properties
    fifo = bool(props.get("FifoTopic"))
    name = context.name(resource, "TopicName", 256, suffix=".fifo" if fifo else "")
    attributes: dict[str, str] = {}
    if fifo:
        attributes["FifoTopic"] = "true"
        if props.get("ContentBasedDeduplication"):
            attributes["ContentBasedDeduplication"] = "true"
    arn = context.clients["sns"].create_topic(Name=name, Attributes=attributes)["TopicArn"]
    context.physical.set(resource.key, arn, TopicArn=arn, TopicName=name)


def create_subscription(context: Context, resource: Resource) -> None:
    props = resource.properties
    protocol = props["Protocol"]
    topic_arn = context.text(resource, props["TopicArn"])
    endpoint = context.text(resource, props["Endpoint"])
    attributes: dict[str, str] = {}
    for key in ("RawMessageDelivery", "FilterPolicyScope"):
        if key in props:
            value = context.value(resource, props[key])
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in ("FilterPolicy", "RedrivePolicy"):
        if key in props:
            attributes[key] = json.dumps(context.value(resource, props[key]))
    sns = context.clients["sns"]
    if protocol == "lambda":
        # moto would hand the message to its own Lambda (Docker). A hidden queue carries it to the local function.
        url, queue_arn = new_queue(context, physical_name(resource, 80, suffix="-bridge"))
        attributes.pop("RawMessageDelivery", None)
        arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)[
            "SubscriptionArn"
        ]
        context.provisioned.sns_lambda.append(SnsLambdaSubscription(resource, endpoint, topic_arn, url, queue_arn, arn))
    elif protocol in _PROTOCOLS:
        arn = sns.subscribe(
            TopicArn=topic_arn, Protocol=protocol, Endpoint=context.localise(endpoint), Attributes=attributes
        )["SubscriptionArn"]
    else:
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: SNS protocol {protocol}")
    context.physical.set(resource.key, arn)


PROVISIONERS = {
    "AWS::SNS::Topic": ResourceProvisioner("a moto topic", create_topic),
    "AWS::SNS::Subscription": ResourceProvisioner(
        "a moto subscription (sqs; lambda through a local bridge), raw delivery, filter policy", create_subscription
    ),
}
