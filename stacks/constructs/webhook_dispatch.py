"""Webhook dispatch: the image events topic -> dispatch queue (+ DLQ) -> dispatcher Lambda -> endpoints.

The same queue carries the events to fan out and the delivery jobs (one per event and endpoint); a job
due later is sent back to the queue with a delay (up to SQS's 15 minutes per hop), so retries spread
over more than a day need nothing but SQS, Lambda and DynamoDB.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from image_pipeline.results.domain.documents import RESULTS_PREFIX
from image_pipeline.webhooks.settings import DispatcherSettings
from stacks.config import EnvironmentConfig
from stacks.constructs.messaging import queue_with_dead_letters
from stacks.constructs.pipeline_function import PipelineFunction

# What the dispatcher does with the table: read subscriptions (by id, by owner), write delivery records,
# mark endpoints failing or disabled, take and free delivery slots (conditional UpdateItem). No Scan, no
# DeleteItem.
DISPATCHER_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]


DISPATCHER_SERVICE = "webhook-dispatcher"  # its logs' and metrics' service name


def table_resources(table: dynamodb.ITableV2, index: str) -> list[str]:
    return [table.table_arn, f"{table.table_arn}/index/{index}"]


class WebhookDispatch(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        table: dynamodb.ITableV2,
        owner_index: str,
        events_topic: sns.ITopic,
        endpoint_secret: secretsmanager.ISecret | None,
        secrets_key_arn: str,
        results_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        webhooks = config.webhooks
        self.queue, self.dead_letter_queue = queue_with_dead_letters(
            self,
            "Dispatch",
            visibility_timeout=webhooks.queue_visibility_timeout,
            max_receive_count=webhooks.max_receive_count,
        )
        events_topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=True))
        environment = DispatcherSettings.environment(
            table_name=table.table_name,
            owner_index=owner_index,
            dispatch_queue_url=self.queue.queue_url,
            secrets_key_arn=secrets_key_arn,
            dead_letter_queue_url=self.dead_letter_queue.queue_url,
            max_attempts=webhooks.max_attempts,
            disable_after_days=webhooks.disable_after_days,
            delivery_retention_days=webhooks.delivery_retention_days,
            concurrency=webhooks.batch_size,
            timeout_seconds=webhooks.attempt_timeout_seconds,
            allowed_ports=webhooks.allowed_ports,
            endpoint_concurrency=webhooks.endpoint_concurrency,
            owner_share=webhooks.owner_share,
            breaker_failures=webhooks.breaker_failures,
            breaker_open_seconds=webhooks.breaker_open_seconds,
            breaker_max_open_seconds=webhooks.breaker_max_open_seconds,
            results_bucket_name=results_bucket.bucket_name,
            results_url_seconds=webhooks.results_url_seconds,
        )
        if webhooks.endpoint_url and endpoint_secret is not None:
            environment |= DispatcherSettings.environment(
                fixed_endpoint_url=webhooks.endpoint_url,
                fixed_endpoint_secret_arn=endpoint_secret.secret_arn,
                fixed_endpoint_events=webhooks.endpoint_events,
            )
        self.lambda_ = PipelineFunction(
            self,
            "Dispatcher",
            config=config,
            handler="image_pipeline.handlers.dispatcher.handler",
            service=DISPATCHER_SERVICE,
            description="Delivers signed webhooks of image events, with retries",
            memory_size=webhooks.dispatcher_memory_mb,
            timeout=webhooks.dispatcher_timeout,
            environment=environment,
        )
        role = self.lambda_.role
        role.add_to_policy(
            iam.PolicyStatement(actions=DISPATCHER_TABLE_ACTIONS, resources=table_resources(table, owner_index))
        )
        self.queue.grant_send_messages(role)
        self.dead_letter_queue.grant_send_messages(role)
        # A presigned link is only as good as its signer's permission: read of result documents (a version of
        # one), under the results prefix only. The bucket is SSE-S3 encrypted, so no KMS grant is needed.
        self.results_read_policy = iam.Policy(
            self,
            "ResultsReadPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[results_bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
                )
            ],
        )
        if endpoint_secret is not None:
            endpoint_secret.grant_read(role)
        self.lambda_.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=webhooks.batch_size,
                max_concurrency=webhooks.max_concurrency,
                report_batch_item_failures=True,
            )
        )
        self.function = self.lambda_.function
        self.role = role
