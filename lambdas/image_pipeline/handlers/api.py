"""API Gateway (REST, Cognito authorizer) -> the /images and /webhooks routes."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from image_pipeline.adapters.results_table import ResultsTable
from image_pipeline.adapters.uploads import S3UploadSigner
from image_pipeline.api import images
from image_pipeline.api.settings import ApiSettings
from image_pipeline.domain.errors import RequestError
from image_pipeline.domain.images import ImageLibrary
from image_pipeline.telemetry import logger, metrics, tracer

API_TITLE = "Image recognition pipeline"
API_VERSION = "1.0.0"
settings = ApiSettings.from_environ(os.environ)
origins = settings.origins()
app = APIGatewayRestResolver(
    enable_validation=True,
    cors=CORSConfig(
        allow_origin=origins[0] if origins else "",
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    if origins
    else None,
)
app.include_router(images.router)
app.configure_openapi(
    title=API_TITLE,
    version=API_VERSION,
    description="Upload images, read what was recognised, and subscribe to results. Every route but this "
    "description needs a Cognito ID token in the Authorization header.",
)
app.enable_swagger(path="/docs", title=API_TITLE, version=API_VERSION)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=app.get_openapi_json_schema())


@app.exception_handler(RequestError)  # type: ignore[untyped-decorator]
def request_error(error: RequestError) -> Response[dict[str, str]]:
    return Response(
        status_code=error.status_code,
        content_type=content_types.APPLICATION_JSON,
        body={"message": error.message},
    )


@lru_cache(maxsize=1)
def library() -> ImageLibrary:
    # Presigned links are signed with SigV4 (required by KMS-encrypted and newer buckets).
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    return ImageLibrary(
        catalog=ResultsTable(boto3.client("dynamodb"), settings.table_name, settings.indexes()),
        signer=S3UploadSigner(s3, settings.bucket_name),
        policy=settings.upload_policy(),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(library=library())  # type: ignore[no-untyped-call]
    return app.resolve(event, context)
