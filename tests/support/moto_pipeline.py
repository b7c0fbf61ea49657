"""The recognition pipeline in moto, built from the synthesized dev templates (not a second copy)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from tests.support.lambda_sqs import queue_arn_of
from tests.support.synth import Synthesized
from tests.support.template import Resolver, only, resources_of

WORKER_HANDLER = "image_pipeline.handlers.worker.handler"
WEB_DOMAIN = "d111111abcdef8.cloudfront.net"


@dataclass
class MotoPipeline:
    bucket: str
    table: str
    queue_url: str
    dead_letter_url: str
    events_topic_arn: str
    events_queue_url: str  # subscribed to the events topic, for assertions
    worker_environment: dict[str, str]
    batch_size: int
    max_receive_count: int
    s3: Any
    sqs: Any
    dynamodb: Any
    resolve: Resolver  # template values -> the values of what was created here

    def function_environment(self, synth: Synthesized, part: str, handler: str) -> dict[str, str]:
        """The environment of the function with ``handler`` in stack ``part``; a variable naming a resource
        this harness does not create (e.g. the webhook queue, for the /images routes) is left out."""
        _, function = only(
            synth.template(part), "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == handler
        )
        environment = {}
        for name, value in function["Properties"]["Environment"]["Variables"].items():
            try:
                environment[name] = str(self.resolve(value))
            except KeyError:
                continue
        return environment


def _create_table(dynamodb: Any, name: str, props: dict[str, Any]) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        GlobalSecondaryIndexes=[
            {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
            for gsi in props.get("GlobalSecondaryIndexes", [])
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _create_queue(sqs: Any, name: str, props: dict[str, Any], dlq_arn: str | None) -> str:
    attributes = {"VisibilityTimeout": str(props["VisibilityTimeout"])}
    if dlq_arn:
        redrive = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": redrive["maxReceiveCount"]}
        )
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def provision(synth: Synthesized) -> MotoPipeline:
    """Create bucket, table, topics, queues, subscription and S3 notification as the templates declare them."""
    data, recognition = synth.template("Data"), synth.template("Recognition")
    s3, sqs, sns, dynamodb = (boto3.client(name) for name in ("s3", "sqs", "sns", "dynamodb"))
    physical: dict[str, dict[str, str]] = {}

    tables = resources_of(data, "AWS::DynamoDB::GlobalTable")
    (table_id,) = [logical_id for logical_id in tables if logical_id.startswith("ResultsTable")]
    table = tables[table_id]
    _create_table(dynamodb, "results", table["Properties"])
    physical[table_id] = {"Ref": "results"}

    bucket_id, _ = only(data, "AWS::S3::Bucket", lambda r: "LoggingConfiguration" in r["Properties"])
    s3.create_bucket(Bucket="images")
    physical[bucket_id] = {"Ref": "images", "Arn": "arn:aws:s3:::images"}

    queues = {lid: res for lid, res in recognition["Resources"].items() if res["Type"] == "AWS::SQS::Queue"}
    upload_id, upload = next((lid, res) for lid, res in queues.items() if "RedrivePolicy" in res["Properties"])
    dlq_id = upload["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    dead_letter_url = _create_queue(sqs, "dead-letters", queues[dlq_id]["Properties"], None)
    dlq_arn = queue_arn_of(sqs, dead_letter_url)
    queue_url = _create_queue(sqs, "uploads", upload["Properties"], dlq_arn)
    queue_arn = queue_arn_of(sqs, queue_url)
    physical[upload_id] = {"Ref": queue_url, "Arn": queue_arn}

    topics = {lid for lid, res in recognition["Resources"].items() if res["Type"] == "AWS::SNS::Topic"}
    for topic_id in topics:
        physical[topic_id] = {"Ref": sns.create_topic(Name=topic_id)["TopicArn"]}

    # The web page's CloudFront domain is not emulated; the API names it as its allowed origin.
    for template in synth.templates.values():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::CloudFront::Distribution":
                physical[logical_id] = {"DomainName": WEB_DOMAIN}
    resolve = Resolver(synth.templates, physical)
    _, subscription = only(recognition, "AWS::SNS::Subscription", lambda r: r["Properties"]["Protocol"] == "sqs")
    upload_topic = resolve(subscription["Properties"]["TopicArn"])
    sns.subscribe(
        TopicArn=upload_topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": str(subscription["Properties"]["RawMessageDelivery"]).lower()},
    )
    _, notifications = only(recognition, "Custom::S3BucketNotifications")
    topic_configs = notifications["Properties"]["NotificationConfiguration"]["TopicConfigurations"]
    s3.put_bucket_notification_configuration(
        Bucket="images",
        NotificationConfiguration={
            "TopicConfigurations": [
                {"TopicArn": resolve(c["TopicArn"]), "Events": c["Events"], "Filter": c["Filter"]}
                for c in topic_configs
            ]
        },
    )

    _, worker = only(recognition, "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == WORKER_HANDLER)
    environment = {k: str(resolve(v)) for k, v in worker["Properties"]["Environment"]["Variables"].items()}
    _, mapping = only(recognition, "AWS::Lambda::EventSourceMapping")

    events_queue_url = sqs.create_queue(QueueName="events-probe")["QueueUrl"]
    events_queue_arn = queue_arn_of(sqs, events_queue_url)
    sns.subscribe(
        TopicArn=environment["EVENTS_TOPIC_ARN"],
        Protocol="sqs",
        Endpoint=events_queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return MotoPipeline(
        bucket="images",
        table="results",
        queue_url=queue_url,
        dead_letter_url=dead_letter_url,
        events_topic_arn=environment["EVENTS_TOPIC_ARN"],
        events_queue_url=events_queue_url,
        worker_environment=environment,
        batch_size=int(mapping["Properties"]["BatchSize"]),
        max_receive_count=int(upload["Properties"]["RedrivePolicy"]["maxReceiveCount"]),
        s3=s3,
        sqs=sqs,
        dynamodb=dynamodb,
        resolve=resolve,
    )
