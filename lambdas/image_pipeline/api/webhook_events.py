"""What an endpoint receives, as schemas: the OpenAPI document's ``webhooks`` section (OpenAPI 3.1).

One model per event type, matching webhooks/domain/payload.py; tests/handlers/test_dispatcher.py validates
the bodies the dispatcher really sends against the published document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from image_pipeline.webhooks.domain.payload import PAYLOAD_VERSION


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: str = Field(description="When the event happened (ISO 8601, UTC)")
    version: Literal["1"] = Field(description=f"The payload version (now {PAYLOAD_VERSION})")


class ImageError(BaseModel):
    code: str
    message: str


class ImageAnalyzedData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imageId: str  # noqa: N815 - the payload's JSON is camelCase
    status: Literal["COMPLETED"]
    features: list[str]
    image: dict[str, Any] | None = Field(default=None, description="Width, height and format of the image")
    results: dict[str, Any] | None = Field(default=None, description="What was recognised, by feature")
    resultsOmitted: bool | None = Field(  # noqa: N815
        default=None,
        description="true when the results were too large for the event (over 200 KiB): `results` is left out and "
        "`resultsUrl` links to them",
    )
    resultsUrl: str | None = Field(  # noqa: N815
        default=None,
        description="With resultsOmitted: a presigned HTTPS GET URL of the full `results` object as JSON, minted "
        "for this delivery attempt (each retry carries a fresh one); needs no token. Fetch it on receipt",
    )
    resultsUrlExpiresAt: str | None = Field(  # noqa: N815
        default=None,
        description="When resultsUrl stops working at the latest (ISO 8601, UTC): an upper bound, as the link "
        "also ends when the dispatcher's AWS session does (docs/webhooks.md#large-results)",
    )


class ImageFailedData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imageId: str  # noqa: N815
    status: Literal["FAILED"]
    features: list[str]
    error: ImageError


class WebhookTestData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhookId: str  # noqa: N815
    message: str


class WebhookDisabledData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhookId: str = Field(description="The endpoint that was disabled (not the one receiving this)")  # noqa: N815
    url: str
    reason: str
    disabledAt: str  # noqa: N815


class ImageAnalyzedEvent(_Event):
    type: Literal["image.analyzed"]
    data: ImageAnalyzedData


class ImageFailedEvent(_Event):
    type: Literal["image.failed"]
    data: ImageFailedData


class WebhookTestEvent(_Event):
    type: Literal["webhook.test"]
    data: WebhookTestData


class WebhookDisabledEvent(_Event):
    type: Literal["webhook.disabled"]
    data: WebhookDisabledData


EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "image.analyzed": (ImageAnalyzedEvent, "An image of the endpoint's owner was analysed"),
    "image.failed": (ImageFailedEvent, "An image of the endpoint's owner could not be analysed"),
    "webhook.test": (WebhookTestEvent, "Sent by POST /webhooks/{webhookId}/test"),
    "webhook.disabled": (WebhookDisabledEvent, "Another endpoint of the same owner was disabled"),
}
_HEADERS = {
    "webhook-id": "The delivery's id: the same on every retry and resend; dedupe on it",
    "webhook-timestamp": "Unix seconds of this attempt; refuse old ones (replays)",
    "webhook-signature": "v1,<base64 HMAC-SHA256 of id.timestamp.body>, one per live secret, space-separated",
}


def with_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with a ``webhooks`` section (one POST per event type) and the events' schemas."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    webhooks: dict[str, Any] = {}
    for event_type, (model, summary) in EVENTS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        webhooks[event_type] = {
            "post": {
                "summary": summary,
                "description": "Signed as Standard Webhooks (https://www.standardwebhooks.com/); see the README, "
                "'Receiving webhooks'.",
                "tags": ["webhooks"],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
                    for name, text in _HEADERS.items()
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                },
                "responses": {
                    "2XX": {"description": "Received; any 2xx within 15 seconds counts"},
                    "410": {"description": "Gone: the endpoint is disabled and its owner told"},
                },
                "security": [],
            }
        }
    document["webhooks"] = webhooks
    return document
