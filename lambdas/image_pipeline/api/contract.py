"""What every operation may answer besides its success, and the checks that make a request body readable.

The routes declare their answers with ``responses(...)``; api/errors.py maps every refusal to its status.
In short: 400 the request cannot be read (body not UTF-8 or not JSON, a page token the API did not issue,
an impossible value), 401 no valid ID token, 404 no such resource of yours (ids of the wrong form
included), 409 the resource's state forbids it, 413 body too large, 415 body not ``application/json``,
422 JSON that breaks the schema (``detail`` says where), 429 the stage's throttling.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, Field

from image_pipeline.api.errors import BodyTooLarge, UnreadableBody, UnsupportedMediaType

MAX_BODY_BYTES = 16 * 1024  # the largest valid body (a 2,048-character webhook URL) is far below this
JSON = "application/json"


class Problem(BaseModel):
    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field")
    type: str = Field(description="pydantic's error type, e.g. missing, string_too_long, literal_error")
    msg: str


class Error(BaseModel):
    """Every refusal: a message that says what is wrong; ``detail`` per field for schema errors (422)."""

    message: str
    detail: list[Problem] | None = None


ERRORS: dict[int, str] = {
    400: "The request cannot be read: the body is not UTF-8 JSON, or a value (such as nextToken) was not "
    "issued by this API",
    401: "No valid Cognito ID token in the Authorization header (answered by API Gateway's authorizer)",
    404: "No such resource of yours: unknown, another user's, or an id of the wrong form",
    409: "The resource's state does not allow it",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    415: "The body is not declared as application/json",
    422: "The JSON breaks the schema; detail lists each problem",
    429: "Too many requests: the stage's throttling (API Gateway) refused it, or a limit of this operation "
    "(test sends per webhook); the Retry-After header says how many seconds to wait",
}
# Any operation: no valid token (API Gateway's authorizer), throttling (the stage), and a 422 that Powertools'
# validation documents for each operation (here with the Error body every refusal has).
ALWAYS = (401, 422, 429)
WITH_BODY = (400, 413, 415)


def responses(
    status: int,
    description: str,
    model: type[BaseModel] | None = None,
    *,
    errors: tuple[int, ...] = (),
    links: dict[str, Any] | None = None,
) -> dict[int, OpenAPIResponse]:
    """The success answer (``model`` as its JSON body, or no body) and every error answer, each an Error.

    ``links`` name the operations a client goes on to with this answer (OpenAPI links, see ``link``).
    """
    success: dict[str, Any] = {"description": description, "content": {JSON: {"model": model}} if model else {}}
    if links:
        success["links"] = links
    answers: dict[int, Any] = {status: success}
    for code in sorted({*ALWAYS, *errors}):
        answers[code] = {"description": ERRORS[code], "content": {JSON: {"model": Error}}}
    return answers


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: ``operation_id`` with its parameters taken from this answer (``$response.body#/...``)."""
    return {"operationId": operation_id, **({"parameters": parameters} if parameters else {})}


def read_json_body(event: BaseProxyEvent) -> None:
    """Refuses a body the API cannot read: not declared JSON (415), too large (413), not UTF-8 (400)."""
    declared = event.headers.get("content-type")
    media_type = (declared or "").split(";", 1)[0].strip()  # in lower case, as Powertools' validation reads it
    if media_type != JSON:
        raise UnsupportedMediaType(f"Content-Type must be {JSON}, not {declared or 'missing'}")
    body = event.body or ""
    try:
        raw = (
            base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode("utf-8", "surrogatepass")
        )
    except binascii.Error:
        raise UnreadableBody("body: not valid base64") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body: {len(raw)} bytes, more than the {MAX_BODY_BYTES} this API reads")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableBody("body: not UTF-8 text") from None


class ReadableBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, after ``read_json_body`` for the routes that take a body.

    Powertools runs its validation before any middleware of ours and reads a body of any content type
    (forms, multipart) or encoding, failing with a 500 on bytes that are not UTF-8 or a multipart type
    without a boundary; the API reads JSON only. ``JsonApiResolver`` puts this class in its place.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Any:
        if app.context["_route"].dependant.body_params:
            read_json_body(app.current_event)
        return super().handler(app, next_middleware)
