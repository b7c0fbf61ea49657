"""Stateful resources: the image bucket, the results table and the user pool.

Stateless changes never touch this stack."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import outputs
from stacks.config import EnvironmentConfig
from stacks.constructs.image_store import ImageStore
from stacks.constructs.results_table import ResultsTable
from stacks.constructs.user_directory import UserDirectory
from stacks.constructs.webhooks_table import WebhooksTable


class DataStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        store = ImageStore(self, "ImageStore", config=config)
        results = ResultsTable(self, "Results", config=config)
        users = UserDirectory(self, "UserDirectory", config=config)
        self.user_pool = users.user_pool
        self.user_pool_client = users.client
        self.access_logs = store.access_logs
        self.table = results.table
        webhooks = WebhooksTable(self, "Webhooks", config=config)
        self.webhooks_table = webhooks.table
        self.webhooks_owner_index = webhooks.owner_index
        # The bucket crosses stacks under stable export names, so that what other stacks synthesize
        # (and cdk-nag's findings on it) names the bucket the same way in every synth.
        self.bucket: s3.IBucket = s3.Bucket.from_bucket_attributes(
            self,
            "ExportedImages",
            bucket_arn=self.export_value(store.bucket.bucket_arn, name=self.export_name("ImageBucketArn")),
            bucket_name=self.export_value(store.bucket.bucket_name, name=self.export_name("ImageBucketName")),
        )
        CfnOutput(self, outputs.UPLOAD_BUCKET_NAME, value=store.bucket.bucket_name)
        CfnOutput(self, outputs.RESULTS_TABLE_NAME, value=self.table.table_name)
        CfnOutput(self, outputs.USER_POOL_ID, value=self.user_pool.user_pool_id)
        CfnOutput(self, outputs.USER_POOL_CLIENT_ID, value=self.user_pool_client.user_pool_client_id)
        CfnOutput(self, outputs.WEBHOOKS_TABLE_NAME, value=self.webhooks_table.table_name)

    def export_name(self, value: str) -> str:
        return f"{self.stack_name}-{value}"
