"""Stateless front door: the REST API, its function, its firewall (by config) and the web page."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import outputs
from stacks.config import EnvironmentConfig
from stacks.constructs.api_firewall import ApiFirewall
from stacks.constructs.api_handler import ApiHandler
from stacks.constructs.rest_api import RestApi


class ApiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        user_pool: cognito.IUserPool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        origins = ["https://example.invalid", *config.extra_cors_origins]
        self.handler = ApiHandler(self, "Images", config=config, bucket=bucket, table=table, allowed_origins=origins)
        self.rest_api = RestApi(
            self,
            "Rest",
            config=config,
            handler=self.handler.function,
            user_pool=user_pool,
            allowed_origins=origins,
        )
        self.firewall = ApiFirewall(self, "Firewall", stage=self.rest_api.stage) if config.api_waf else None
        CfnOutput(self, outputs.API_URL, value=self.rest_api.url)
