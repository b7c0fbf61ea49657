"""The one place where the domain's refusals become HTTP status codes."""

from __future__ import annotations

from image_pipeline.shared.errors import Conflict, InvalidRequest, NotFound, RateLimited, RequestError


class Unauthenticated(RequestError):
    """No verified identity in the request (the authorizer should have refused it already)."""


class UnreadableBody(RequestError):
    """The body is not UTF-8 text (or not valid base64 where API Gateway encoded it)."""


class BodyTooLarge(RequestError):
    """The body is larger than the API reads (api/contract.py MAX_BODY_BYTES)."""


class UnsupportedMediaType(RequestError):
    """The body is not declared as application/json."""


STATUS_CODES: dict[type[RequestError], int] = {
    InvalidRequest: 400,
    UnreadableBody: 400,
    Unauthenticated: 401,
    NotFound: 404,
    Conflict: 409,
    BodyTooLarge: 413,
    UnsupportedMediaType: 415,
    RateLimited: 429,
}


def status_of(error: RequestError) -> int:
    """The status of the most specific kind ``error`` is; 400 for any other refusal."""
    return next((STATUS_CODES[kind] for kind in type(error).__mro__ if kind in STATUS_CODES), 400)


def headers_of(error: RequestError) -> dict[str, str] | None:
    """Headers the refusal carries: when to try again after a rate limit."""
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.retry_after_seconds)}
    return None
