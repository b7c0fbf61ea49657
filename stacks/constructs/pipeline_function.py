"""The one Lambda factory: runtime, arm64, log group with retention, tracing, Powertools."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.config import POWERTOOLS_VERSION, EnvironmentConfig

LAMBDA_SOURCE_DIR = Path(__file__).resolve().parents[2] / "lambdas"
# The newest runtime that cdk-nag's AwsSolutions-L1 accepts with the pinned aws-cdk-lib.
RUNTIME = lambda_.Runtime.PYTHON_3_14
METRICS_NAMESPACE = "ImagePipeline"
ARCHITECTURE = lambda_.Architecture.ARM_64
ASSET_EXCLUDES = ["requirements.txt", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".ruff_cache"]


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """Powertools' public layer at the pinned version, resolved from AWS's public SSM parameter at deploy time."""
    stack = Stack.of(scope)
    layer_id = "PowertoolsLayer"
    existing = stack.node.try_find_child(layer_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = ssm.StringParameter.value_for_string_parameter(
        stack, f"/aws/service/powertools/python/arm64/{RUNTIME.name}/{POWERTOOLS_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(stack, layer_id, arn)


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
            code=lambda_.Code.from_asset(str(LAMBDA_SOURCE_DIR), exclude=ASSET_EXCLUDES),
            handler=handler,
            memory_size=memory_size,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            layers=[powertools_layer(self)],
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
