"""The worker: SQS batch -> Rekognition -> results table, with least-privilege grants."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from image_pipeline.recognition.settings import WorkerSettings
from image_pipeline.results.domain.documents import RESULTS_PREFIX
from stacks.config import UPLOAD_PREFIX, EnvironmentConfig
from stacks.constructs.pipeline_function import PipelineFunction

REKOGNITION_ACTIONS = [
    "rekognition:DetectLabels",
    "rekognition:DetectText",
    "rekognition:DetectFaces",
    "rekognition:DetectModerationLabels",
    "rekognition:RecognizeCelebrities",
]
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
]


class RecognitionWorker(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        queue: sqs.IQueue,
        events_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        thresholds = config.thresholds
        self.lambda_ = PipelineFunction(
            self,
            "Worker",
            config=config,
            handler="image_pipeline.handlers.worker.handler",
            service="recognition-worker",
            description="Analyses uploaded images with Amazon Rekognition",
            memory_size=config.worker_memory_mb,
            timeout=config.worker_timeout,
            environment=WorkerSettings.environment(
                table_name=table.table_name,
                events_topic_arn=events_topic.topic_arn,
                results_bucket_name=bucket.bucket_name,
                queue_url=queue.queue_url,
                default_features=config.default_features,
                min_confidence_labels=thresholds.labels,
                min_confidence_text=thresholds.text,
                min_confidence_moderation=thresholds.moderation,
                max_labels=config.max_labels,
                image_concurrency=config.image_concurrency,
                rekognition_max_attempts=config.rekognition_max_attempts,
                rekognition_quotas=config.rekognition_quotas.environment_value(),
                token_wait_seconds=config.rekognition_token_wait_seconds,
                lock_seconds=int(config.worker_timeout.to_seconds()),
                max_receive_count=config.max_receive_count,
            ),
        )
        function = self.lambda_.function
        role = self.lambda_.role
        # Rekognition's image operations support no resource-level permissions, hence "*".
        self.rekognition_policy = iam.Policy(
            self,
            "RekognitionPolicy",
            roles=[role],
            statements=[iam.PolicyStatement(actions=REKOGNITION_ACTIONS, resources=["*"])],
        )
        # Rekognition reads the object with the caller's permissions: read on the upload prefix only.
        self.uploads_read_policy = iam.Policy(
            self,
            "UploadsReadPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")],
                )
            ],
        )
        # An object no image will own (a late upload after a delete, a second upload on a spent ticket) is
        # removed by the worker: exactly its version, under the upload prefix only.
        self.uploads_discard_policy = iam.Policy(
            self,
            "UploadsDiscardPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                    resources=[bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")],
                )
            ],
        )
        # Results too large for an event are written as results/<owner>/<image id>.json: PutObject there only.
        self.results_write_policy = iam.Policy(
            self,
            "ResultsWritePolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")])
            ],
        )
        role.add_to_policy(iam.PolicyStatement(actions=TABLE_ACTIONS, resources=[table.table_arn]))
        events_topic.grant_publish(role)
        # A message held back by the Rekognition quota is sent again (as a new message, with a delay).
        queue.grant_send_messages(role)
        function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=config.batch_size,
                max_batching_window=config.max_batching_window,
                max_concurrency=config.max_concurrency,
                report_batch_item_failures=True,
            )
        )
        self.function = function
        self.role = role
