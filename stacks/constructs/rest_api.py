"""The REST API: every route to one function, Cognito sign-in on each, access logs, throttling, CORS."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import EnvironmentConfig

STAGE = "v1"


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    public: bool = False


# The API's routes; a test keeps this list equal to the function's OpenAPI document (docs/openapi.json).
ROUTES = (
    ApiRoute("POST", "/images"),
    ApiRoute("GET", "/images"),
    ApiRoute("GET", "/images/{imageId}"),
    ApiRoute("DELETE", "/images/{imageId}"),
    ApiRoute("GET", "/images/{imageId}/url"),
    ApiRoute("POST", "/webhooks"),
    ApiRoute("GET", "/webhooks"),
    ApiRoute("DELETE", "/webhooks/{webhookId}"),
    ApiRoute("POST", "/webhooks/{webhookId}/rotate-secret"),
    ApiRoute("POST", "/webhooks/{webhookId}/enable"),
    ApiRoute("POST", "/webhooks/{webhookId}/test"),
    ApiRoute("GET", "/webhooks/{webhookId}/deliveries"),
    # The API's description and its Swagger UI: public, like any published API reference.
    ApiRoute("GET", "/openapi.json", public=True),
    ApiRoute("GET", "/docs", public=True),
)
CORS_HEADERS = ["Authorization", "Content-Type"]


class RestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        handler: lambda_.IFunction,
        user_pool: cognito.IUserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            # the ApiName dimension of the API's metrics: one per environment, also in a shared account
            rest_api_name=f"ImagePipeline-{config.name}",
            description=f"Image recognition pipeline ({config.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                tracing_enabled=True,
                metrics_enabled=True,
            ),
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "SignedIn", cognito_user_pools=[user_pool], identity_source="method.request.header.Authorization"
        )
        self.validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        self.methods: dict[ApiRoute, apigw.Method] = {}
        for route in ROUTES:
            resource = self.api.root.resource_for_path(route.path)
            self.methods[route] = resource.add_method(
                route.method,
                integration,
                authorization_type=apigw.AuthorizationType.NONE if route.public else apigw.AuthorizationType.COGNITO,
                authorizer=None if route.public else self.authorizer,
                request_validator=self.validator,
            )
        self.stage = self.api.deployment_stage
        self.url = self.api.url

    def allow_origins(self, origins: list[str]) -> None:
        """CORS for browsers on ``origins`` only: preflight on every resource, headers on gateway refusals."""
        paths = {route.path for route in ROUTES}
        for path in sorted(paths):
            self.api.root.resource_for_path(path).add_cors_preflight(
                allow_origins=origins,
                allow_methods=sorted({route.method for route in ROUTES if route.path == path}),
                allow_headers=CORS_HEADERS,
                max_age=Duration.minutes(10),
            )
        # Refusals by API Gateway itself (401 without a token, 429 throttled) must be readable by the page.
        for response_type, name in (
            (apigw.ResponseType.DEFAULT_4_XX, "Default4xx"),
            (apigw.ResponseType.DEFAULT_5_XX, "Default5xx"),
        ):
            self.api.add_gateway_response(
                name,
                type=response_type,
                response_headers={
                    "Access-Control-Allow-Origin": f"'{origins[0]}'",
                    "Access-Control-Allow-Headers": f"'{','.join(CORS_HEADERS)}'",
                    "Vary": "'Origin'",
                },
            )
