"""One provisioner per CloudFormation resource type, from one module per AWS service."""

from __future__ import annotations

from local.provisioners import (
    apigateway,
    cloudfront,
    cognito,
    dynamodb,
    iam,
    kms,
    lambda_functions,
    s3,
    sns,
    sqs,
    stepfunctions,
)
from local.provisioners.base import ResourceProvisioner

PROVISIONERS: dict[str, ResourceProvisioner] = {
    **iam.PROVISIONERS,
    **s3.PROVISIONERS,
    **dynamodb.PROVISIONERS,
    **sns.PROVISIONERS,
    **sqs.PROVISIONERS,
    **lambda_functions.PROVISIONERS,
    **cognito.PROVISIONERS,
    **apigateway.PROVISIONERS,
    **cloudfront.PROVISIONERS,
    **kms.PROVISIONERS,
    **stepfunctions.PROVISIONERS,
}
