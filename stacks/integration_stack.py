"""Webhook delivery of the pipeline's domain events to third-party endpoints (stateless)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from image_pipeline.webhooks.domain.model import ENDPOINTS_DISABLED_METRIC
from image_pipeline.webhooks.settings import WebhookApiSettings
from stacks import outputs
from stacks.config import EnvironmentConfig
from stacks.constructs.messaging import pipeline_key
from stacks.constructs.monitoring import AlarmTexts, QueueConsumerMonitoring
from stacks.constructs.pipeline_function import METRICS_NAMESPACE
from stacks.constructs.webhook_dispatch import DISPATCHER_SERVICE, WebhookDispatch, table_resources
from stacks.constructs.webhook_endpoint import WebhookEndpointSecret
from stacks.constructs.webhook_secrets_key import WebhookSecretsKey

# What the API's webhook routes do with the table: subscriptions by id and by owner, delivery history,
# test-send counts and closing a breaker (UpdateItem).
API_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
]


class IntegrationStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        webhooks_table: dynamodb.ITableV2,
        owner_index: str,
        events_topic: sns.ITopic,
        bucket: s3.IBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.table = webhooks_table
        self.owner_index = owner_index
        key = pipeline_key(self, "Key", description=f"Encrypts the webhook alarms and endpoint secret ({config.name})")
        self.endpoint_secret = (
            WebhookEndpointSecret(self, "Endpoint", config=config, key=key).secret
            if config.webhooks.endpoint_url
            else None
        )
        self.secrets_key = WebhookSecretsKey(self, "Secrets", config=config)
        self.dispatch = WebhookDispatch(
            self,
            "Webhooks",
            config=config,
            table=webhooks_table,
            owner_index=owner_index,
            events_topic=events_topic,
            endpoint_secret=self.endpoint_secret,
            secrets_key_arn=self.secrets_key.key.key_arn,
            results_bucket=bucket,
        )
        self.secrets_key.grant_open(self.dispatch.role)
        self.monitoring = QueueConsumerMonitoring(
            self,
            "Monitoring",
            config=config,
            key=key,
            queue=self.dispatch.queue,
            dead_letter_queue=self.dispatch.dead_letter_queue,
            consumer=self.dispatch.function,
            # Jobs waiting for a retry are re-sent at most every 15 minutes, so older messages mean a backlog.
            max_age=Duration.minutes(30),
            texts=AlarmTexts(
                topic="Webhook alarms",
                dead_letters="Webhook deliveries failed for more than a day (or could not be dispatched): see the "
                "DLQ, then `make redrive` (docs/runbook.md#webhook-dlq)",
                backlog="Webhook jobs wait more than 30 minutes for the dispatcher (docs/runbook.md#webhook-backlog)",
                errors="The webhook dispatcher failed whole invocations (docs/runbook.md#dispatcher-errors)",
                errors_id="DispatcherErrors",
            ),
        )
        self.monitoring.alarm_when_above_zero(
            "EndpointsDisabled",
            "A user's webhook endpoint was disabled (410 Gone, or failing for days); the owner got a "
            "webhook.disabled event at their other endpoints: see docs/runbook.md#webhook-endpoint-disabled",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=ENDPOINTS_DISABLED_METRIC,
                dimensions_map={"service": DISPATCHER_SERVICE},
                statistic="Sum",
                period=Duration.minutes(5),
            ),
        )
        CfnOutput(self, outputs.WEBHOOK_DISPATCH_QUEUE_URL, value=self.dispatch.queue.queue_url)
        CfnOutput(self, outputs.WEBHOOK_DEAD_LETTER_QUEUE_URL, value=self.dispatch.dead_letter_queue.queue_url)
        # make seal-secrets reads it (it seals secrets stored plain before they were sealed).
        CfnOutput(self, outputs.WEBHOOK_SECRETS_KEY_ARN, value=self.secrets_key.key.key_arn)
        if self.endpoint_secret is not None:
            CfnOutput(self, outputs.WEBHOOK_ENDPOINT_SECRET_ARN, value=self.endpoint_secret.secret_arn)

    def connect_api(self, function: lambda_.Function) -> None:
        """What the API function needs for the /webhooks routes: settings and least-privilege grants."""
        variables = WebhookApiSettings.environment(
            table_name=self.table.table_name,
            owner_index=self.owner_index,
            dispatch_queue_url=self.dispatch.queue.queue_url,
            secrets_key_arn=self.secrets_key.key.key_arn,
            max_attempts=self.config.webhooks.max_attempts,
            delivery_retention_days=self.config.webhooks.delivery_retention_days,
            allowed_ports=self.config.webhooks.allowed_ports,
            test_sends_per_minute=self.config.webhooks.test_sends_per_minute,
        )
        for name, value in variables.items():
            function.add_environment(name, value)
        role = function.role
        if role is None:
            raise ValueError("the API function has no role to grant to")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=API_TABLE_ACTIONS, resources=table_resources(self.table, self.owner_index))
        )
        self.dispatch.queue.grant_send_messages(role)
        self.secrets_key.grant_seal(role)
