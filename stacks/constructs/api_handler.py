"""The API function: one Lambda behind every route, with least-privilege access to images and results."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from image_pipeline.api.settings import ApiSettings
from image_pipeline.results.domain.documents import RESULTS_PREFIX
from stacks.config import UPLOAD_PREFIX, EnvironmentConfig
from stacks.constructs.pipeline_function import PipelineFunction
from stacks.constructs.results_table import LABEL_INDEX, OWNER_INDEX

TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",  # the per-user daily quota counter
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
# Presigned links carry the function's permissions: upload (POST = s3:PutObject), display, delete.
OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"]


class ApiHandler(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
    ) -> None:
        super().__init__(scope, construct_id)
        self.lambda_ = PipelineFunction(
            self,
            "Handler",
            config=config,
            handler="image_pipeline.handlers.api.handler",
            service="image-api",
            description="The image pipeline's REST API",
            memory_size=config.api_memory_mb,
            timeout=Duration.seconds(10),
            environment=ApiSettings.environment(
                table_name=table.table_name,
                owner_index=OWNER_INDEX,
                label_index=LABEL_INDEX,
                bucket_name=bucket.bucket_name,
                upload_prefix=UPLOAD_PREFIX,
                upload_url_seconds=config.upload_url_seconds,
                display_url_seconds=config.display_url_seconds,
                default_features=config.default_features,
                daily_image_quota=config.daily_image_quota,
            ),
        )
        self.function = self.lambda_.function
        self.role = self.lambda_.role
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=TABLE_ACTIONS,
                resources=[
                    table.table_arn,
                    *(f"{table.table_arn}/index/{name}" for name in (OWNER_INDEX, LABEL_INDEX)),
                ],
            )
        )
        # Keys are <prefix><owner>/<image id>.<ext>, chosen by the function: the prefix is the narrowest resource.
        self.objects_policy = iam.Policy(
            self,
            "UploadsPolicy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=OBJECT_ACTIONS, resources=[bucket.arn_for_objects(f"{UPLOAD_PREFIX}*")]),
                # DELETE /images/{id} also removes a large result's document (every version of it).
                iam.PolicyStatement(
                    actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                    resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    actions=["s3:ListBucketVersions"],
                    resources=[bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{UPLOAD_PREFIX}*", f"{RESULTS_PREFIX}*"]}},
                ),
            ],
        )

    def allow_origins(self, origins: list[str]) -> None:
        """The browser origins the function's CORS headers name: the web page's first."""
        variables = ApiSettings.environment(allowed_origin=origins[0], extra_origins=origins[1:])
        for name, value in variables.items():
            self.function.add_environment(name, value)
