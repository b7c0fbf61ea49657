"""The one Lambda factory: runtime, arm64, log group with retention, tracing, Powertools bundled in the code."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.lambda_bundle import TargetPlatform, function_code

# The newest runtime that cdk-nag's AwsSolutions-L1 accepts with the pinned aws-cdk-lib.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# The wheels bundled with the code (Powertools, pydantic-core, ...) are built for exactly this runtime.
PLATFORM = TargetPlatform(python_version=RUNTIME.name.removeprefix("python"), platform="manylinux2014_aarch64")


class PipelineFunction(Construct):
    """A Python function with the project's defaults; ``handler`` is a dotted path inside ``lambdas/``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        handler: str,
        service: str,
        description: str,
        memory_size: int,
        timeout: Duration,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs to its own group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} ({config.name})",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=function_code(PLATFORM),
            handler=handler,
            memory_size=memory_size,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": "ImagePipeline",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
