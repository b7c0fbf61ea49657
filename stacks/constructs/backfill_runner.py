"""`make backfill`: a Step Functions Distributed Map lists a bucket prefix (S3 ListObjectsV2, tens of millions of
objects), hands the keys in batches to the backfill function, which makes PENDING images and queues them on the
upload queue for the worker. The map only enqueues; the worker's rate limiter gives the quota's pace."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_pipeline.backfill.domain.backfill import BacklogFull
from image_pipeline.backfill.settings import BackfillSettings
from stacks.config import LIBRARY_PREFIX, EnvironmentConfig
from stacks.constructs.pipeline_function import PipelineFunction

TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
# The error the backfill function raises while the upload queue is full enough (its exception's name).
BACKLOG_FULL = BacklogFull.__name__


class BackfillRunner(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        queue: sqs.IQueue,
        worker_role: iam.IRole,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.backfill
        partition = Stack.of(self).partition
        # (bucket name, key prefix) a backfill may read: the pipeline's own library prefix, and the configured ones.
        sources: list[tuple[str, str]] = [(bucket.bucket_name, LIBRARY_PREFIX)]
        for source in settings.source_buckets:
            name, _, prefix = source.partition("/")
            sources.append((name, prefix))

        self.lambda_ = PipelineFunction(
            self,
            "Queuer",
            config=config,
            handler="image_pipeline.handlers.backfill.handler",
            service="backfill",
            description="Queues a batch of existing images for analysis (make backfill)",
            memory_size=settings.function_memory_mb,
            timeout=Duration.seconds(settings.function_timeout_seconds),
            environment=BackfillSettings.environment(
                table_name=table.table_name,
                queue_url=queue.queue_url,
                allowed_sources=[f"{name}/{prefix}" for name, prefix in sources],
                default_features=config.default_features,
                max_backlog=settings.max_backlog,
            ),
        )
        function = self.lambda_.function
        self.lambda_.role.add_to_policy(iam.PolicyStatement(actions=TABLE_ACTIONS, resources=[table.table_arn]))
        queue.grant_send_messages(self.lambda_.role)

        # The worker reads a backfilled object (and Rekognition reads it with the worker's permissions).
        self.worker_read_policy = iam.Policy(
            self,
            "WorkerSourceReadPolicy",
            roles=[worker_role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[_objects_arn(partition, name, prefix) for name, prefix in sources],
                )
            ],
        )

        batch = tasks.LambdaInvoke(
            self,
            "QueueBatch",
            lambda_function=function,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        # The queue holds enough waiting work: the batch waits (the first matching retrier applies), for as long as
        # the worker needs; 99,999,999 is Step Functions' largest MaxAttempts.
        batch.add_retry(
            errors=[BACKLOG_FULL],
            interval=Duration.seconds(settings.backlog_retry_seconds),
            max_attempts=99_999_999,
            backoff_rate=1,
        )
        # A batch can be run again: images already made are found, messages sent twice are analysed once.
        batch.add_retry(errors=["States.TaskFailed"], interval=Duration.seconds(5), max_attempts=3, backoff_rate=2)
        # The children's outputs are gathered by the map: each gives back nothing, so millions of objects fit.
        queued = sfn.Pass(self, "Queued", parameters={})
        self.map = sfn.DistributedMap(
            self,
            "ListPrefix",
            item_reader=AllowedSourcesReader(
                [
                    iam.PolicyStatement(
                        actions=["s3:ListBucket"],
                        resources=[f"arn:{partition}:s3:::{name}"],
                        conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                    )
                    for name, prefix in sources
                ],
                bucket_name_path=sfn.JsonPath.string_at("$.bucket"),
                prefix=sfn.JsonPath.string_at("$.prefix"),
            ),
            item_selector={
                "Key.$": "$$.Map.Item.Value.Key",
                "Etag.$": "$$.Map.Item.Value.Etag",
                "Size.$": "$$.Map.Item.Value.Size",
            },
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=settings.items_per_batch,
                # Rendered as written (CDK does not turn JsonPath values into "name.$" keys here).
                batch_input={f"{name}.$": f"$.{name}" for name in ("runId", "bucket", "owner", "features")},
            ),
            max_concurrency=settings.max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
        )
        self.map.item_processor(batch.next(queued))

        self.log_group = logs.LogGroup(
            self, "Logs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self.map),
            comment=f"make backfill ({config.name}): lists a prefix, queues its JPEG/PNG objects for the worker",
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL),
            tracing_enabled=True,
        )
        self.failed_alarm = cloudwatch.Alarm(
            self,
            "FailedRuns",
            alarm_description="A backfill run failed or was aborted (docs/runbook.md#backfill)",
            metric=self.state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.failed_alarm.add_alarm_action(actions.SnsAction(alarm_topic))
        self.function = function
        self.source_buckets = settings.source_buckets


class AllowedSourcesReader(sfn.S3ObjectsItemReader):
    """S3ObjectsItemReader over a bucket named at run time, granted s3:ListBucket on the allowed sources only (CDK's
    own reader grants it on every bucket when the bucket is a JSONPath)."""

    def __init__(self, statements: list[iam.PolicyStatement], *, bucket_name_path: str, prefix: str) -> None:
        super().__init__(bucket_name_path=bucket_name_path, prefix=prefix)
        self._statements = statements

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return self._statements


def _objects_arn(partition: str, bucket_name: str, prefix: str) -> str:
    return f"arn:{partition}:s3:::{bucket_name}/{prefix}*"
