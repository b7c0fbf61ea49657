"""Webhook dispatch in moto, built from the synthesized dev templates: the webhooks table, the dispatch
queue and its DLQ, the dispatcher's environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from image_pipeline.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.adapters.webhooks_table import WebhooksTable
from image_pipeline.webhooks.dispatch import DeliveryQueue, DispatchSettings
from image_pipeline.webhooks.subscriptions import TEST_SENDS_PER_MINUTE, WebhookService
from image_pipeline.webhooks.targets import TargetPolicy
from tests.support.lambda_sqs import queue_arn_of
from tests.support.synth import Synthesized
from tests.support.template import Resolver, only, resources_of

# The local mode's settings: plain HTTP to receivers on loopback. AWS keeps https-only and no exception.
LOCAL_NETWORKS = "127.0.0.0/8"
LOCAL_SETTINGS = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": LOCAL_NETWORKS}
DISPATCHER_HANDLER = "image_pipeline.handlers.dispatcher.handler"
WEBHOOK_VARIABLES = {
    "WEBHOOKS_TABLE_NAME",
    "WEBHOOKS_OWNER_INDEX",
    "DISPATCH_QUEUE_URL",
    "WEBHOOK_MAX_ATTEMPTS",
    "WEBHOOK_DELIVERY_RETENTION_DAYS",
    "WEBHOOK_ALLOWED_PORTS",
    "WEBHOOK_TEST_SENDS_PER_MINUTE",
}


@dataclass
class MotoWebhooks:
    table: str
    queue_url: str
    dead_letter_url: str
    dispatcher_environment: dict[str, str]
    batch_size: int
    dynamodb: Any
    sqs: Any
    resolve: Resolver

    def service(self, test_sends_per_minute: int = TEST_SENDS_PER_MINUTE) -> WebhookService:
        """What the API's routes use, with the local mode's target policy (plain HTTP to loopback)."""
        table = WebhooksTable(self.dynamodb, self.table)
        queue = SqsJobQueue(self.sqs, self.queue_url)
        return WebhookService(
            repository=table,
            flows=table,
            deliveries=DeliveryQueue(repository=table, queue=queue, settings=DispatchSettings()),
            policy=TargetPolicy.of(allow_http=True, allowed_networks=LOCAL_NETWORKS),
            test_sends_per_minute=test_sends_per_minute,
        )

    def environment_of(self, synth: Synthesized, part: str, handler: str) -> dict[str, str]:
        """The variables of that function that name webhook resources (e.g. the API function's)."""
        _, function = only(
            synth.template(part), "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == handler
        )
        variables = function["Properties"]["Environment"]["Variables"]
        return {name: str(self.resolve(value)) for name, value in variables.items() if name in WEBHOOK_VARIABLES}


def provision_webhooks(synth: Synthesized) -> MotoWebhooks:
    data, integration = synth.template("Data"), synth.template("Integration")
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    physical: dict[str, dict[str, str]] = {}

    tables = resources_of(data, "AWS::DynamoDB::GlobalTable")
    [(table_id, table)] = [(lid, t) for lid, t in tables.items() if lid.startswith("WebhooksTable")]
    props = table["Properties"]
    dynamodb.create_table(
        TableName="webhooks",
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        GlobalSecondaryIndexes=[
            {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
            for gsi in props["GlobalSecondaryIndexes"]
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    physical[table_id] = {"Ref": "webhooks", "Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/webhooks"}

    queues = resources_of(integration, "AWS::SQS::Queue")
    [(queue_id, queue)] = [(lid, q) for lid, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    dlq_id = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    visibility = {"VisibilityTimeout": str(queue["Properties"]["VisibilityTimeout"])}
    dead_letter_url = sqs.create_queue(QueueName="webhook-dead-letters", Attributes=visibility)["QueueUrl"]
    redrive = {
        "deadLetterTargetArn": queue_arn_of(sqs, dead_letter_url),
        "maxReceiveCount": queue["Properties"]["RedrivePolicy"]["maxReceiveCount"],
    }
    queue_url = sqs.create_queue(
        QueueName="webhook-dispatch", Attributes={**visibility, "RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]
    physical[queue_id] = {"Ref": queue_url, "Arn": queue_arn_of(sqs, queue_url)}
    physical[dlq_id] = {"Ref": dead_letter_url, "Arn": queue_arn_of(sqs, dead_letter_url)}

    resolve = Resolver(synth.templates, physical)
    _, dispatcher = only(
        integration, "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == DISPATCHER_HANDLER
    )
    environment = {k: str(resolve(v)) for k, v in dispatcher["Properties"]["Environment"]["Variables"].items()}
    _, mapping = only(integration, "AWS::Lambda::EventSourceMapping")
    return MotoWebhooks(
        table="webhooks",
        queue_url=queue_url,
        dead_letter_url=dead_letter_url,
        dispatcher_environment=environment,
        batch_size=int(mapping["Properties"]["BatchSize"]),
        dynamodb=dynamodb,
        sqs=sqs,
        resolve=resolve,
    )
