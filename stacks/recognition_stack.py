"""Stateless recognition pipeline: upload fan-out, worker, domain events, alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from image_pipeline.api.settings import ApiSettings
from stacks import outputs
from stacks.config import EnvironmentConfig
from stacks.constructs.backfill_runner import BackfillRunner
from stacks.constructs.messaging import encrypted_topic, pipeline_key
from stacks.constructs.monitoring import AlarmTexts, QueueConsumerMonitoring
from stacks.constructs.quota_monitoring import RekognitionQuotaAlarms
from stacks.constructs.recognition_worker import RecognitionWorker
from stacks.constructs.upload_fanout import UploadFanout


class RecognitionStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = pipeline_key(self, "TopicKey", description=f"Encrypts the image pipeline's topics ({config.name})")
        fanout = UploadFanout(self, "UploadFanout", config=config, bucket=bucket, key=key)
        # One versioned domain event per finished image (image.analyzed / image.failed).
        self.image_events = encrypted_topic(self, "ImageEvents", key=key, display_name="Image analysed or failed")
        worker = RecognitionWorker(
            self,
            "Recognition",
            config=config,
            bucket=bucket,
            table=table,
            queue=fanout.queue,
            events_topic=self.image_events,
        )
        self.monitoring = QueueConsumerMonitoring(
            self,
            "Monitoring",
            config=config,
            key=key,
            queue=fanout.queue,
            dead_letter_queue=fanout.dead_letter_queue,
            consumer=worker.function,
            max_age=Duration.minutes(15),
            texts=AlarmTexts(
                topic="Image pipeline alarms",
                dead_letters="Images could not be processed after every retry: inspect the DLQ "
                "(docs/runbook.md#upload-dlq)",
                backlog="Uploads wait longer than 15 minutes for analysis (docs/runbook.md#upload-backlog)",
                errors="The worker function failed whole invocations (docs/runbook.md#worker-errors)",
                errors_id="WorkerErrors",
            ),
        )
        # Calls, throttles and the share of each operation's quota used (the worker emits them), with alarms.
        self.quota_alarms = RekognitionQuotaAlarms(
            self,
            "RekognitionQuota",
            config=config,
            topic=self.monitoring.topic,
            queue=fanout.queue,
            backlog_age=Duration.minutes(15),
        )
        # make backfill: existing objects under a prefix, through the same queue and worker.
        self.backfill = BackfillRunner(
            self,
            "Backfill",
            config=config,
            bucket=bucket,
            table=table,
            queue=fanout.queue,
            worker_role=worker.role,
            alarm_topic=self.monitoring.topic,
        )
        self.fanout = fanout
        self.worker = worker
        CfnOutput(self, outputs.BACKFILL_STATE_MACHINE_ARN, value=self.backfill.state_machine.state_machine_arn)
        CfnOutput(self, outputs.BACKFILL_FUNCTION_NAME, value=self.backfill.function.function_name)
        CfnOutput(self, outputs.UPLOAD_QUEUE_URL, value=fanout.queue.queue_url)
        CfnOutput(self, outputs.DEAD_LETTER_QUEUE_URL, value=fanout.dead_letter_queue.queue_url)
        CfnOutput(self, outputs.IMAGE_EVENTS_TOPIC_ARN, value=self.image_events.topic_arn)

    def connect_api(self, function: lambda_.Function) -> None:
        """POST /images/{id}/reanalyze queues its request for the worker: the queue's URL and sqs:SendMessage on it."""
        for name, value in ApiSettings.environment(upload_queue_url=self.fanout.queue.queue_url).items():
            function.add_environment(name, value)
        role = function.role
        if role is None:
            raise ValueError("the API function has no role to grant to")
        self.fanout.queue.grant_send_messages(role)
