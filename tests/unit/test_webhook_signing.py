"""Signatures the dispatcher makes verify with the `standardwebhooks` library (a client we did not write)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from image_pipeline.webhooks.domain.payload import image_payload, serialise
from image_pipeline.webhooks.domain.signing import generate_secret, is_valid_secret, message_id, webhook_headers

EVENT = {
    "id": "5d0c7d4e-0000-4000-8000-000000000001",
    "type": "image.analyzed",
    "version": "1",
    "source": "image-pipeline",
    "time": "2026-11-22T01:00:02.345Z",
    "data": {
        "imageId": "img-1",
        "owner": "alice",
        "status": "COMPLETED",
        "object": {"bucket": "b", "key": "uploads/cat.jpg"},
        "features": ["labels"],
        "results": {"labels": [{"name": "Cat", "confidence": 98.2}]},
    },
}


def _signed(secrets: list[str], timestamp: int | None = None) -> tuple[str, dict[str, str]]:
    body = serialise(image_payload(EVENT))
    stamp = int(time.time()) if timestamp is None else timestamp
    return body, webhook_headers(secrets, message_id(EVENT["id"], "wh_1"), stamp, body)


def test_a_signed_delivery_verifies_with_standardwebhooks() -> None:
    # Given a fresh secret and a delivery signed with it
    secret = generate_secret()
    body, headers = _signed([secret])
    # When the receiver verifies it with the reference library
    payload = Webhook(secret).verify(body, headers)
    # Then it gets the versioned payload back
    assert payload == {
        "type": "image.analyzed",
        "timestamp": "2026-11-22T01:00:02.345Z",
        "version": "1",
        "data": {
            "imageId": "img-1",
            "status": "COMPLETED",
            "features": ["labels"],
            "results": {"labels": [{"name": "Cat", "confidence": 98.2}]},
        },
    }


def test_the_payload_leaves_the_owner_and_the_object_out() -> None:
    data = image_payload(EVENT)["data"]
    assert "owner" not in data
    assert "object" not in data


def test_a_failed_image_carries_its_error_instead_of_results() -> None:
    failed = {**EVENT, "type": "image.failed", "data": {**EVENT["data"], "status": "FAILED", "error": {"code": "X"}}}
    del failed["data"]["results"]
    payload = image_payload(failed)
    assert payload["type"] == "image.failed"
    assert payload["data"]["error"] == {"code": "X"}
    assert "results" not in payload["data"]


def test_a_tampered_body_fails_verification() -> None:
    secret = generate_secret()
    body, headers = _signed([secret])
    tampered = body.replace("Cat", "Dog")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)


def test_a_stale_timestamp_fails_verification() -> None:
    # Given a delivery signed six minutes ago (a replay)
    secret = generate_secret()
    body, headers = _signed([secret], timestamp=int(time.time()) - 6 * 60)
    # Then the library refuses it though the signature itself is right
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, headers)


def test_a_changed_timestamp_header_fails_verification() -> None:
    secret = generate_secret()
    body, headers = _signed([secret])
    headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_another_secret_does_not_verify() -> None:
    body, headers = _signed([generate_secret()])
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_during_a_rotation_both_secrets_verify() -> None:
    # Given a delivery signed by the new and the previous secret
    new, old = generate_secret(), generate_secret()
    body, headers = _signed([new, old])
    # Then it carries two v1 signatures, and a receiver holding either secret accepts it
    assert [s.split(",")[0] for s in headers["webhook-signature"].split(" ")] == ["v1", "v1"]
    assert Webhook(new).verify(body, headers)["type"] == "image.analyzed"
    assert Webhook(old).verify(body, headers)["type"] == "image.analyzed"


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != generate_secret()
    assert is_valid_secret(secret)
    assert not is_valid_secret("whsec_!!")
    assert not is_valid_secret("plain")


def test_the_message_id_is_stable_per_event_and_endpoint() -> None:
    assert message_id("event-1", "wh_a") == message_id("event-1", "wh_a")
    assert message_id("event-1", "wh_a") != message_id("event-1", "wh_b")
    assert message_id("event-1", "wh_a") != message_id("event-2", "wh_a")
    assert message_id("event-1", "wh_a").startswith("msg_")


def test_the_body_is_compact_json() -> None:
    body = serialise(image_payload(EVENT))
    assert json.loads(body)["version"] == "1"
    assert ": " not in body
