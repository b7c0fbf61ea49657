"""API Gateway (REST, Cognito authorizer) -> the /images and /webhooks routes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from image_pipeline.api import image_routes, webhook_routes
from image_pipeline.api.composition import components
from image_pipeline.api.contract import MAX_BODY_BYTES, ReadableBodyValidation
from image_pipeline.api.errors import headers_of, status_of
from image_pipeline.shared.errors import RequestError
from image_pipeline.shared.telemetry import logger, tracer

API_TITLE = "Image recognition pipeline"
API_VERSION = "1.0.0"
SECURITY_SCHEME = "CognitoIdToken"
ID_TOKEN = APIKey.model_validate({"name": "Authorization", "in": APIKeyIn.header, "description": "Cognito ID token"})


__all__ = ["MAX_BODY_BYTES", "build_resolver", "handler", "openapi_document"]


class JsonApiResolver(APIGatewayRestResolver):
    """Powertools' REST resolver whose request validation first refuses bodies the API cannot read."""

    def __init__(self, **options: Any) -> None:
        super().__init__(enable_validation=True, **options)
        # Powertools keeps the middleware it runs first here (3.37: api_gateway.Route._build_middleware_stack);
        # tests/handlers/test_api_images.py fails if a later version stops using it (415/413/400 become 5xx/422).
        self._request_validation_middleware = ReadableBodyValidation()


def build_resolver(origins: Sequence[str]) -> APIGatewayRestResolver:
    """Every route, CORS for ``origins`` (the web page's first), OpenAPI and Swagger UI, errors as JSON."""
    app = JsonApiResolver(
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
            status_code=status_of(error),
            content_type=content_types.APPLICATION_JSON,
            body={"message": error.message},
            headers=headers_of(error),
        )

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
        """400 for a body that is not JSON, 404 for a path parameter no resource can have, else 422."""
        problems = [_problem(detail) for detail in error.errors()]
        places = {problem["loc"][0] if problem["loc"] else "" for problem in problems}
        unreadable = any(problem["type"] == "json_invalid" for problem in problems)
        return Response(
            status_code=400 if unreadable else 404 if places == {"path"} else 422,
            content_type=content_types.APPLICATION_JSON,
            body={
                "message": "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems),
                "detail": problems,
            },
        )

    @app.not_found
    def no_route(_: NotFoundError) -> Response[dict[str, str]]:
        event = app.current_event
        return Response(
            status_code=404,
            content_type=content_types.APPLICATION_JSON,
            body={"message": f"no route {event.http_method} {event.path}"},
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
    """The OpenAPI document as checked in at docs/openapi.json (a test keeps the two equal).

    Answers in order of status, and without the schemas of the 422 body Powertools has (ours is an Error).
    """
    document = json.loads(app.get_openapi_json_schema())
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"] = dict(sorted(operation["responses"].items()))
    schemas = document["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f'"#/components/schemas/{unused}"' not in json.dumps(document["paths"]):
            schemas.pop(unused, None)
    return json.dumps(document)


@lru_cache(maxsize=1)
def resolver() -> APIGatewayRestResolver:
    return build_resolver(components().settings.origins())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)  # answers carry webhook secrets and upload links
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolver().resolve(event, context)
