"""The one place where the domain's refusals become HTTP status codes."""

from __future__ import annotations

from image_pipeline.shared.errors import Conflict, InvalidRequest, NotFound, RequestError


class Unauthenticated(RequestError):
    """No verified identity in the request (the authorizer should have refused it already)."""


STATUS_CODES: dict[type[RequestError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    NotFound: 404,
    Conflict: 409,
}


def status_of(error: RequestError) -> int:
    """The status of the most specific kind ``error`` is; 400 for any other refusal."""
    return next((STATUS_CODES[kind] for kind in type(error).__mro__ if kind in STATUS_CODES), 400)
