"""cdk-nag acknowledgements: each on the narrowest construct, each with the reason it is right here."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from stacks.config import UPLOAD_PREFIX
from stacks.data_stack import DataStack
from stacks.recognition_stack import RecognitionStack

BUCKET_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def _bucket_notifications_role(stack: Stack) -> IConstruct:
    return stack.node.find_child(BUCKET_NOTIFICATIONS_HANDLER).node.find_child("Role")


def acknowledge_findings(*, data: DataStack, recognition: RecognitionStack) -> None:
    worker = recognition.worker
    acknowledge(
        worker.rekognition_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "DetectLabels/Text/Faces/ModerationLabels and RecognizeCelebrities support no resource-level "
        "permissions; the five actions are named one by one.",
    )
    acknowledge(
        worker.uploads_read_policy,
        f"AwsSolutions-IAM5[Resource::{data.export_name('ImageBucketArn')}/{UPLOAD_PREFIX}*]",
        "Read of objects under the upload prefix only (s3:GetObject, s3:GetObjectVersion); keys are "
        "chosen by uploaders, so the prefix wildcard is the narrowest possible resource.",
    )
    default_policy = worker.role.node.find_child("DefaultPolicy")
    acknowledge(
        default_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
    )
    acknowledge(
        default_policy,
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        "Publishing to the encrypted events topic needs GenerateDataKey on its key only (CDK's topic grant).",
    )
    acknowledge(
        _bucket_notifications_role(recognition),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "CDK's own BucketNotificationsHandler singleton; its role is not configurable and only writes logs.",
    )
