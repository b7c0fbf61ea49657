"""API Gateway (REST, Cognito authorizer) -> the /images and /webhooks routes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from image_pipeline.api import image_routes, webhook_routes
from image_pipeline.api.composition import components
from image_pipeline.api.errors import status_of
from image_pipeline.api.webhook_events import with_webhooks
from image_pipeline.shared.errors import RequestError
from image_pipeline.shared.telemetry import logger, tracer

API_TITLE = "Image recognition pipeline"
API_VERSION = "1.0.0"
SECURITY_SCHEME = "CognitoIdToken"
ID_TOKEN = APIKey.model_validate({"name": "Authorization", "in": APIKeyIn.header, "description": "Cognito ID token"})


def build_resolver(origins: Sequence[str]) -> APIGatewayRestResolver:
    """Every route, CORS for ``origins`` (the web page's first), OpenAPI and Swagger UI, errors as JSON."""
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(
            allow_origin=origins[0], extra_origins=list(origins[1:]), allow_headers=["Authorization", "Content-Type"]
        )
        if origins
        else None,
    )
    app.include_router(image_routes.router)
    app.include_router(webhook_routes.router)
    app.configure_openapi(
        title=API_TITLE,
        version=API_VERSION,
        description="Upload images, read what was recognised, and subscribe to results. Every operation needs "
        "a Cognito ID token (sign in with the user pool's app client) in the Authorization header.",
        security_schemes={SECURITY_SCHEME: ID_TOKEN},
        security=[{SECURITY_SCHEME: []}],
    )
    app.enable_swagger(path="/docs", title=API_TITLE, version=API_VERSION)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document(app))

    @app.exception_handler(RequestError)  # type: ignore[untyped-decorator]
    def request_error(error: RequestError) -> Response[dict[str, str]]:
        return Response(
            status_code=status_of(error), content_type=content_types.APPLICATION_JSON, body={"message": error.message}
        )

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
        problems = [_problem(detail) for detail in error.errors()]
        return Response(
            status_code=422,
            content_type=content_types.APPLICATION_JSON,
            body={
                "message": "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems),
                "detail": problems,
            },
        )

    return app


def _problem(detail: dict[str, Any]) -> dict[str, Any]:
    """Where, what kind and pydantic's sentence; not the input or the context (Powertools' default hides the
    sentence too, which leaves a caller with ``literal_error`` and no idea which values are allowed)."""
    loc = tuple(detail.get("loc", ()))
    if detail.get("type") == "json_invalid":
        return {"loc": loc[:1], "type": "json_invalid", "msg": "not valid JSON"}
    return {"loc": loc, "type": detail.get("type", ""), "msg": str(detail.get("msg") or detail.get("type", ""))}


def openapi_document(app: APIGatewayRestResolver) -> str:
    """The OpenAPI document as checked in at docs/openapi.json (a test keeps the two equal), with the events
    endpoints receive in its ``webhooks`` section."""
    return json.dumps(with_webhooks(json.loads(app.get_openapi_json_schema())), indent=2)


@lru_cache(maxsize=1)
def resolver() -> APIGatewayRestResolver:
    return build_resolver(components().settings.origins())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)  # answers carry webhook secrets and upload links
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolver().resolve(event, context)
