"""cdk-nag acknowledgements: each on the narrowest construct, each with the reason it is right here."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct

from image_pipeline.results.domain.documents import RESULTS_PREFIX
from stacks.api_stack import ApiStack
from stacks.config import LIBRARY_PREFIX, UPLOAD_PREFIX
from stacks.data_stack import DataStack
from stacks.integration_stack import IntegrationStack
from stacks.recognition_stack import RecognitionStack

BUCKET_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def _bucket_notifications_role(stack: Stack) -> IConstruct:
    return stack.node.find_child(BUCKET_NOTIFICATIONS_HANDLER).node.find_child("Role")


def acknowledge_findings(*, data: DataStack, recognition: RecognitionStack, api: ApiStack) -> None:
    acknowledge_api(api, data=data)
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
    acknowledge(
        worker.uploads_discard_policy,
        f"AwsSolutions-IAM5[Resource::{data.export_name('ImageBucketArn')}/{UPLOAD_PREFIX}*]",
        "Removal of an object no image owns (a late upload after a delete, a second upload on a spent ticket), "
        "by version, under the upload prefix only; keys are chosen by uploaders, so the prefix is the narrowest.",
    )
    acknowledge(
        worker.results_write_policy,
        f"AwsSolutions-IAM5[Resource::{data.export_name('ImageBucketArn')}/{RESULTS_PREFIX}*]",
        "Writes result documents too large for an event (s3:PutObject only), keyed by owner and image id under "
        "the results prefix; the prefix is the narrowest fixed resource.",
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
    acknowledge_backfill(recognition, data=data)
    acknowledge(
        _bucket_notifications_role(recognition),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "CDK's own BucketNotificationsHandler singleton; its role is not configurable and only writes logs.",
    )


def acknowledge_api(api: ApiStack, *, data: DataStack) -> None:
    handler = api.handler
    acknowledge(
        handler.role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
    )
    acknowledge(
        handler.objects_policy,
        f"AwsSolutions-IAM5[Resource::{data.export_name('ImageBucketArn')}/{UPLOAD_PREFIX}*]",
        "Presigned upload, display and delete links for keys the function itself chooses under the upload "
        "prefix (<prefix><owner>/<image id>.<ext>); the prefix is the narrowest fixed resource.",
    )
    acknowledge(
        handler.objects_policy,
        f"AwsSolutions-IAM5[Resource::{data.export_name('ImageBucketArn')}/{RESULTS_PREFIX}*]",
        "DELETE /images/{id} removes the image's result document (results/<owner>/<image id>.json, every version): "
        "delete only, under the results prefix, the narrowest fixed resource.",
    )
    rest = api.rest_api
    acknowledge(
        rest.api.node.find_child("CloudWatchRole"),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "API Gateway's account-wide logging role; AWS's managed policy is the documented way to grant it.",
    )
    for route, method in rest.methods.items():
        if route.public:
            for finding in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                acknowledge(
                    method,
                    finding,
                    f"{route.method} {route.path} publishes the API's description (OpenAPI / Swagger UI), "
                    "which holds no data; every data route requires a Cognito ID token.",
                )
    if api.firewall is None:
        acknowledge(
            rest.stage,
            "AwsSolutions-APIG3",
            "WAF is a per-environment switch (api_waf in stacks/config.py), on in prod; this environment relies "
            "on stage throttling and Cognito sign-in on every data route.",
        )
    acknowledge(
        data.user_pool,
        "AwsSolutions-COG2",
        "MFA (TOTP) is optional so that the web page and scripts can sign in with USER_PASSWORD_AUTH; accounts "
        "are created by an administrator (self sign-up is off) and threat protection is on.",
    )


def acknowledge_integration(integration: IntegrationStack, *, data: DataStack) -> None:
    """Webhook dispatch: the dispatcher's X-Ray and result-document grants, and the fixed endpoint's secret."""
    acknowledge(
        integration.dispatch.results_read_policy,
        f"AwsSolutions-IAM5[Resource::{data.export_name('ImageBucketArn')}/{RESULTS_PREFIX}*]",
        "Presigned links to result documents too large for an event (results/<owner>/<image id>.json): read "
        "only, under the results prefix, the narrowest fixed resource (any owner's image may be delivered).",
    )
    dispatcher_policy = integration.dispatch.role.node.find_child("DefaultPolicy")
    acknowledge(
        dispatcher_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
    )
    if integration.endpoint_secret is not None:
        acknowledge(
            integration.endpoint_secret,
            "AwsSolutions-SMG4",
            "The signing secret is shared with the third-party receiver, so it cannot change on a schedule "
            "without it: it is rotated by hand with a 24 h overlap (new and old value space-separated, both sign).",
        )


def acknowledge_backfill(recognition: RecognitionStack, *, data: DataStack) -> None:
    backfill = recognition.backfill
    sources = [(data.export_name("ImageBucketName"), LIBRARY_PREFIX)]
    sources += [(name, prefix) for name, _, prefix in (s.partition("/") for s in backfill.source_buckets)]
    for name, prefix in sources:
        acknowledge(
            backfill.worker_read_policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{name}/{prefix}*]",
            "The worker reads the objects a backfill queued (s3:GetObject, s3:GetObjectVersion) under the allowed "
            "backfill sources only (stacks/config.py BackfillConfig); their keys are not known in advance.",
        )
    acknowledge(
        backfill.lambda_.role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
    )
    machine_policy = backfill.state_machine.role.node.find_child("DefaultPolicy")
    acknowledge(
        machine_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "Step Functions' log delivery (logs:*LogDelivery*, DescribeLogGroups) and X-Ray support no resource-level "
        "permissions (CDK's grants for LogOptions and tracing).",
    )
    acknowledge(
        machine_policy,
        "AwsSolutions-IAM5[Resource::<BackfillQueuerFunction244691C4.Arn>:*]",
        "Invocation of the backfill function and its versions only (CDK's LambdaInvoke grant).",
    )
    region = "<AWS::Region>" if Token.is_unresolved(recognition.region) else recognition.region
    account = "<AWS::AccountId>" if Token.is_unresolved(recognition.account) else recognition.account
    machine = '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"BackfillStateMachine395F6B27"}]}]}'
    execution = f"arn:<AWS::Partition>:states:{region}:{account}:execution:{machine}"
    for suffix in (":*", "/*:*"):
        acknowledge(
            backfill.state_machine.node.find_child("DistributedMapPolicy"),
            f"AwsSolutions-IAM5[Resource::{execution}{suffix}]",
            "The Distributed Map starts, describes and stops the child executions of this state machine only "
            "(CDK's grant; their names are made at run time).",
        )
