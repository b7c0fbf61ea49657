"""Routes of /webhooks: subscriptions, secret rotation, test events and delivery history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from image_pipeline.api.composition import components
from image_pipeline.api.contract import WITH_BODY, link, responses
from image_pipeline.api.identity import current_owner
from image_pipeline.api.image_routes import TOKEN, Timestamp
from image_pipeline.webhooks.domain.dispatch import iso
from image_pipeline.webhooks.domain.model import Failure, Subscription
from image_pipeline.webhooks.domain.subscriptions import WebhookService

router = Router()  # type: ignore[no-untyped-call]
WebhookId = Annotated[str, Path(pattern=r"^wh_[0-9a-f]{24}$", description="The id returned by POST /webhooks")]
MessageId = Annotated[str, Path(pattern=r"^msg_[0-9a-f]{32}$", description="A delivery's webhook-id header")]
EventType = Literal["image.analyzed", "image.failed"]


def service() -> WebhookService:
    return components().webhooks


class CreateWebhookRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://example.com/hooks/images", "events": ["image.analyzed"]}]},
    )

    url: str = Field(
        min_length=8, max_length=2048, description="https URL of your endpoint (public address, no redirects)"
    )
    events: list[EventType] = Field(
        default=["image.analyzed", "image.failed"], min_length=1, max_length=2, description="What to receive"
    )


class WebhookView(BaseModel):
    webhookId: str  # noqa: N815 - the API's JSON is camelCase
    url: str
    events: list[str]
    status: Literal["ACTIVE", "DISABLED"]
    createdAt: Timestamp  # noqa: N815
    failingSince: Timestamp | None = None  # noqa: N815
    disabledReason: str | None = None  # noqa: N815
    disabledAt: Timestamp | None = None  # noqa: N815


class CreatedWebhook(WebhookView):
    secret: str = Field(description="whsec_... signing secret; shown only in this answer")


class WebhookList(BaseModel):
    items: list[WebhookView]


class RotatedSecret(BaseModel):
    webhookId: str  # noqa: N815
    secret: str = Field(description="The new whsec_... secret; shown only in this answer")
    previousSecretExpiresAt: str | None = Field(  # noqa: N815
        description="Until then the previous secret signs too (a second v1 signature); null when it was "
        "expired at once (expirePrevious=true)"
    )


class QueuedTest(BaseModel):
    webhookId: str  # noqa: N815
    messageId: str = Field(description="The webhook-id header the test delivery carries")  # noqa: N815
    eventType: Literal["webhook.test"]  # noqa: N815


class RecoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"since": "2026-11-29T00:00:00Z"}]})

    since: datetime = Field(
        description="Send again every delivery that failed, of events since then; records are kept 30 days, "
        "so an earlier time recovers those 30 days"
    )


class Requeued(BaseModel):
    webhookId: str  # noqa: N815
    queued: int = Field(description="How many deliveries were queued again")


class AttemptView(BaseModel):
    attempt: int
    at: str
    outcome: Literal["delivered", "retry", "failed", "gone", "refused"]
    latencyMs: int  # noqa: N815
    statusCode: int | None = None  # noqa: N815
    failure: Failure | None = Field(default=None, description="Why the attempt did not deliver, as a class")
    error: str | None = Field(default=None, description="The failure class in words (never the socket's own text)")
    response: str | None = Field(default=None, description="The first bytes of the endpoint's answer")


class DeliveryView(BaseModel):
    messageId: str  # noqa: N815
    eventType: str  # noqa: N815
    status: Literal["PENDING", "RETRYING", "DELIVERED", "FAILED"]
    createdAt: str  # noqa: N815
    nextAttemptAt: str | None = None  # noqa: N815
    attempts: list[AttemptView]


class DeliveryList(BaseModel):
    items: list[DeliveryView]
    nextToken: str | None = None  # noqa: N815


def view(subscription: Subscription) -> dict[str, Any]:
    return {
        "webhookId": subscription.webhook_id,
        "url": subscription.url,
        "events": list(subscription.events),
        "status": subscription.status.value,
        "createdAt": subscription.created_at,
        "failingSince": iso(subscription.failing_since) if subscription.failing_since else None,
        "disabledReason": subscription.disabled_reason,
        "disabledAt": subscription.disabled_at,
    }


@router.post(
    "/webhooks",
    summary="Subscribe an endpoint to my images' events",
    tags=["webhooks"],
    operation_id="createWebhook",
    responses=responses(
        201,
        "Subscribed; the secret is shown only here",
        CreatedWebhook,
        errors=(*WITH_BODY, 409),
        links={
            name: link(operation, webhookId="$response.body#/webhookId")
            for name, operation in (
                ("DeleteWebhook", "deleteWebhook"),
                ("RotateSecret", "rotateWebhookSecret"),
                ("EnableWebhook", "enableWebhook"),
                ("SendTest", "sendWebhookTest"),
                ("ListDeliveries", "listWebhookDeliveries"),
            )
        }
        | {"ListWebhooks": link("listWebhooks")},
    ),
)
def create_webhook(request: CreateWebhookRequest) -> Response[CreatedWebhook]:
    created = service().create(current_owner(router), request.url, list(request.events))
    body = CreatedWebhook(**view(created.subscription), secret=created.secret)
    return Response(status_code=201, content_type="application/json", body=body)


@router.get(
    "/webhooks",
    summary="My webhooks (without their secrets)",
    tags=["webhooks"],
    operation_id="listWebhooks",
    responses=responses(200, "Every webhook of mine", WebhookList),
)
def list_webhooks() -> WebhookList:
    return WebhookList(items=[WebhookView(**view(s)) for s in service().list(current_owner(router))])


@router.delete(
    "/webhooks/<webhookId>",
    summary="Delete a webhook",
    tags=["webhooks"],
    operation_id="deleteWebhook",
    responses=responses(204, "Deleted", errors=(404,)),
)
def delete_webhook(webhookId: WebhookId) -> Response[None]:  # noqa: N803 - the path parameter's name
    service().delete(current_owner(router), webhookId)
    return Response(status_code=204)


@router.post(
    "/webhooks/<webhookId>/rotate-secret",
    summary="New signing secret; the previous one keeps signing for 24 hours unless expirePrevious=true",
    tags=["webhooks"],
    operation_id="rotateWebhookSecret",
    responses=responses(200, "The new secret, shown only here", RotatedSecret, errors=(404,)),
)
def rotate_secret(
    webhookId: WebhookId,  # noqa: N803
    expire_previous: Annotated[
        bool,
        Query(
            alias="expirePrevious",
            description="Stop signing with the previous secret at once (it leaked); default: it signs for 24 hours",
        ),
    ] = False,
) -> RotatedSecret:
    rotated = service().rotate_secret(current_owner(router), webhookId, expire_previous=expire_previous)
    return RotatedSecret(
        webhookId=webhookId, secret=rotated.secret, previousSecretExpiresAt=rotated.previous_secret_expires_at
    )


@router.post(
    "/webhooks/<webhookId>/enable",
    summary="Enable a disabled webhook again, and close its circuit breaker",
    tags=["webhooks"],
    operation_id="enableWebhook",
    responses=responses(200, "The webhook, ACTIVE", WebhookView, errors=(404,)),
)
def enable_webhook(webhookId: WebhookId) -> WebhookView:  # noqa: N803
    return WebhookView(**view(service().enable(current_owner(router), webhookId)))


@router.post(
    "/webhooks/<webhookId>/test",
    summary="Send a webhook.test event",
    tags=["webhooks"],
    operation_id="sendWebhookTest",
    responses=responses(202, "Queued for delivery", QueuedTest, errors=(404, 409)),
)
def send_test(webhookId: WebhookId) -> Response[QueuedTest]:  # noqa: N803
    job = service().send_test(current_owner(router), webhookId)
    body = QueuedTest(webhookId=webhookId, messageId=job.message_id, eventType="webhook.test")
    return Response(status_code=202, content_type="application/json", body=body)


@router.get(
    "/webhooks/<webhookId>/deliveries",
    summary="Deliveries to this webhook, newest first, each with its attempts",
    tags=["webhooks"],
    operation_id="listWebhookDeliveries",
    responses=responses(200, "A page of deliveries", DeliveryList, errors=(400, 404, 422)),
)
def list_deliveries(
    webhookId: WebhookId,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=2048, pattern=TOKEN)] = None,
) -> DeliveryList:
    history = service().deliveries(current_owner(router), webhookId, limit, next_token)
    return DeliveryList(items=[DeliveryView(**item) for item in history.items], nextToken=history.next_token)


@router.post(
    "/webhooks/<webhookId>/deliveries/<messageId>/resend",
    summary="Send one delivery again (same webhook-id and body, a fresh retry window)",
    tags=["webhooks"],
    operation_id="resendWebhookDelivery",
    responses=responses(202, "Queued for delivery", Requeued, errors=(404, 409, 422)),
)
def resend_delivery(webhookId: WebhookId, messageId: MessageId) -> Response[Requeued]:  # noqa: N803
    service().resend(current_owner(router), webhookId, messageId)
    return Response(status_code=202, content_type="application/json", body=Requeued(webhookId=webhookId, queued=1))


@router.post(
    "/webhooks/<webhookId>/recover",
    summary="Send again every delivery that failed since a time",
    tags=["webhooks"],
    operation_id="recoverWebhookDeliveries",
    responses=responses(202, "Queued for delivery", Requeued, errors=(*WITH_BODY, 404, 409)),
)
def recover_deliveries(webhookId: WebhookId, request: RecoverRequest) -> Response[Requeued]:  # noqa: N803
    since = request.since if request.since.tzinfo else request.since.replace(tzinfo=UTC)
    queued = service().recover(current_owner(router), webhookId, since.timestamp())
    return Response(status_code=202, content_type="application/json", body=Requeued(webhookId=webhookId, queued=queued))
