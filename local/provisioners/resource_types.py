"""What the local mode does with each CloudFormation resource type: run it (a provisioner in the registry says
how), or ignore it with a reason.

A type in neither list stops the local mode (and fails tests/infra/test_local_resource_types.py):
a construct was added that the local mode cannot run yet.
"""

from __future__ import annotations

from local.cfn.assembly import Assembly, Resource
from local.provisioners.registry import PROVISIONERS

RUN: dict[str, str] = {resource_type: p.description for resource_type, p in PROVISIONERS.items()}

IGNORED: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK's own bookkeeping",
    "AWS::S3::BucketPolicy": "resource policies are not evaluated locally; checked by the infra tests",
    "AWS::SQS::QueuePolicy": "resource policies are not evaluated locally; checked by the infra tests",
    "AWS::SNS::TopicPolicy": "resource policies are not evaluated locally; checked by the infra tests",
    "AWS::KMS::Alias": "code refers to keys by their ARN",
    "AWS::Logs::LogGroup": "function logs go to the console",
    "AWS::CloudWatch::Alarm": "no metrics are collected locally",
    "AWS::CloudWatch::CompositeAlarm": "no metrics are collected locally",
    "AWS::CloudWatch::Dashboard": "no metrics are collected locally",
    "AWS::Budgets::Budget": "nothing is billed locally",
    "AWS::Lambda::Permission": "local invocations need no resource policy",
    "AWS::Lambda::LayerVersion": "layer contents come from the local virtualenv",
    "AWS::ApiGateway::Account": "the API Gateway CloudWatch role: logs go to the console",
    "AWS::ApiGateway::Model": "request validation is done by the API function itself",
    "AWS::ApiGateway::RequestValidator": "request validation is done by the API function itself",
    "AWS::ApiGateway::UsagePlan": "no throttling or quotas locally",
    "AWS::ApiGateway::ApiKey": "no API keys locally",
    "AWS::WAFv2::WebACL": "no firewall locally",
    "AWS::WAFv2::WebACLAssociation": "no firewall locally",
    "AWS::CloudFront::OriginAccessControl": "the local web server reads the bucket directly",
    "AWS::CloudFront::ResponseHeadersPolicy": "security headers are not emulated",
    "AWS::CloudFront::CachePolicy": "nothing is cached locally",
    "AWS::CloudFront::Function": "no edge functions locally",
    "AWS::Cognito::UserPoolDomain": "the hosted sign-in UI is not emulated",
    "AWS::Cognito::UserPoolRiskConfigurationAttachment": "no threat protection locally",
    "Custom::S3AutoDeleteObjects": "local state lives in memory and disappears on exit",
    "Custom::LogRetention": "function logs go to the console",
}

# Lambda functions that only implement CDK custom resources are not run: the custom resource is emulated.
PROVIDER_REASON = "implements a CDK custom resource, which the local mode emulates itself"


def custom_resource_providers(assembly: Assembly) -> set[tuple[str, str]]:
    providers: set[tuple[str, str]] = set()
    for resource in assembly.resources():
        if resource.type.startswith("Custom::") or resource.type == "AWS::CloudFormation::CustomResource":
            token = resource.properties.get("ServiceToken")
            providers |= assembly.references(resource.stack, token)
    return providers


def classify(assembly: Assembly) -> tuple[list[Resource], list[tuple[Resource, str]], list[Resource]]:
    """(resources to run, resources ignored with their reason, resources the local mode cannot run)."""
    providers = custom_resource_providers(assembly)
    run: list[Resource] = []
    ignored: list[tuple[Resource, str]] = []
    unsupported: list[Resource] = []
    for resource in assembly.resources():
        if resource.key in providers:
            ignored.append((resource, PROVIDER_REASON))
        elif resource.type in RUN:
            run.append(resource)
        elif resource.type in IGNORED:
            ignored.append((resource, IGNORED[resource.type]))
        else:
            unsupported.append(resource)
    return run, ignored, unsupported
