"""Every ObjectCreated event under the upload prefix -> SNS topic -> SQS queue (raw) with a DLQ."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.config import UPLOAD_PREFIX, EnvironmentConfig
from stacks.constructs.messaging import encrypted_topic, queue_with_dead_letters


class UploadFanout(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        bucket: s3.IBucket,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = encrypted_topic(self, "UploadEvents", key=key, display_name="Image uploads")
        self.queue, self.dead_letter_queue = queue_with_dead_letters(
            self,
            "Uploads",
            visibility_timeout=config.queue_visibility_timeout,
            max_receive_count=config.max_receive_count,
        )
        self.topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=True))
        # The bucket lives in the stateful stack; a reference imported here keeps the notification
        # (and its custom resource) in this stack, so the data stack never depends on this one.
        uploads = s3.Bucket.from_bucket_attributes(
            self, "UploadBucket", bucket_arn=bucket.bucket_arn, region=Stack.of(self).region
        )
        uploads.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SnsDestination(self.topic),
            s3.NotificationKeyFilter(prefix=UPLOAD_PREFIX),
        )
