"""Who is calling: the Cognito user pool authorizer puts the verified token's claims in the request context."""

from __future__ import annotations

from typing import cast

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from image_pipeline.api.errors import Unauthenticated


def current_owner(router: Router) -> str:
    """The caller's stable user id (the token's ``sub``); every read and write is scoped to it."""
    event = cast(APIGatewayProxyEvent, router.current_event)
    claims = event.request_context.authorizer.claims or {}
    owner = claims.get("sub")
    if not owner:
        raise Unauthenticated("no verified identity in the request")
    return str(owner)
