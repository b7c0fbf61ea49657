"""Stateless front door: the REST API, its function, its firewall (by config) and the web page."""

from __future__ import annotations

from pathlib import Path
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
from stacks.constructs.web_hosting import WebHosting

WEB_DIR = Path(__file__).resolve().parents[1] / "web"


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
        user_pool_client: cognito.IUserPoolClient,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.handler = ApiHandler(self, "Images", config=config, bucket=bucket, table=table)
        self.rest_api = RestApi(self, "Rest", config=config, handler=self.handler.function, user_pool=user_pool)
        self.web = WebHosting(
            self,
            "Web",
            config=config,
            site_dir=WEB_DIR,
            api_origin=f"https://{self.rest_api.api.rest_api_id}.execute-api.{self.region}.{self.url_suffix}",
            runtime_config={
                "apiUrl": self.rest_api.url,
                "region": self.region,
                "userPoolId": user_pool.user_pool_id,
                "userPoolClientId": user_pool_client.user_pool_client_id,
            },
        )
        # The API allows the page's origin and the page's security policy names the API's origin (not its
        # stage, which would close a dependency cycle through the function's environment).
        origins = [self.web.url, *config.extra_cors_origins]
        self.handler.allow_origins(origins)
        self.rest_api.allow_origins(origins)
        self.firewall = ApiFirewall(self, "Firewall", stage=self.rest_api.stage) if config.api_waf else None
        CfnOutput(self, outputs.API_URL, value=self.rest_api.url)
        CfnOutput(self, outputs.WEB_URL, value=self.web.url)
