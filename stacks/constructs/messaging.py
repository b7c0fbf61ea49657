"""Encrypted, SSL-only SNS topics and SQS queues with the project's defaults."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def encrypted_topic(scope: Construct, construct_id: str, *, key: kms.IKey, display_name: str) -> sns.Topic:
    return sns.Topic(scope, construct_id, display_name=display_name, master_key=key, enforce_ssl=True)


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    visibility_timeout: Duration,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        retention_period=MESSAGE_RETENTION,
        dead_letter_queue=dead_letter_queue,
    )


def queue_with_dead_letters(
    scope: Construct, construct_id: str, *, visibility_timeout: Duration, max_receive_count: int
) -> tuple[sqs.Queue, sqs.Queue]:
    """A work queue ``construct_id`` and its dead-letter queue ``DeadLetters``, where a message rests after
    ``max_receive_count`` receives."""
    dead_letters = encrypted_queue(scope, "DeadLetters", visibility_timeout=visibility_timeout)
    queue = encrypted_queue(
        scope,
        construct_id,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receive_count),
    )
    return queue, dead_letters


MESSAGE_RETENTION = Duration.days(14)

# Services that publish to the project's encrypted topics.
PUBLISHING_SERVICES = ("s3.amazonaws.com", "cloudwatch.amazonaws.com")


def pipeline_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A customer managed key for the topics: AWS's managed SNS key lets neither S3 nor CloudWatch publish."""
    key = kms.Key(scope, construct_id, description=description, enable_key_rotation=True)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowServicesToPublishToEncryptedTopics",
            principals=[iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES],
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        )
    )
    return key
