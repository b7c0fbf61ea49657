"""The whole pipeline over HTTP, as a user meets it: sign in, upload through the presigned POST, read results.

Runs against the local mode (see conftest.py) or, given its outputs file, against a deployment.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from local.tools.client import AppClient, find_output, http
from local.tools.webhook_receiver import ReceivedEvent, WebhookReceiver
from tests.e2e.conftest import TEXT_LINES
from tests.support.images import image_bytes

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024


def test_uploaded_photo_is_recognised(client: AppClient, photos: dict[str, bytes]) -> None:
    # Given a signed-in user and a photo of a cat
    # When it is uploaded through the presigned POST that POST /images returns
    image_id = client.upload("cat.jpg", photos["cat.jpg"], "image/jpeg", ["labels"])
    # Then the API reports it analysed, with the cat among its labels
    result = client.wait_for(image_id)
    assert result["status"] == "COMPLETED", result
    assert result["image"] == {"format": "JPEG", "width": 451, "height": 300, "sizeBytes": len(photos["cat.jpg"])}
    labels = {label["name"]: label for label in result["results"]["labels"]}
    assert "Cat" in labels
    assert labels["Cat"]["confidence"] >= 70


def test_printed_text_is_read(client: AppClient, photos: dict[str, bytes]) -> None:
    # Given a PNG of two printed lines
    image_id = client.upload("text.png", photos["text.png"], "image/png", ["text"])
    # When it has been analysed
    result = client.wait_for(image_id)
    # Then the lines are read back
    assert result["status"] == "COMPLETED", result
    assert [line["text"] for line in result["results"]["text"]["lines"]] == list(TEXT_LINES)


def test_found_by_label_in_the_listing(client: AppClient, photos: dict[str, bytes]) -> None:
    # Given an analysed photo of coffee
    image_id = client.upload("coffee.png", photos["coffee.png"], "image/png", ["labels"])
    result = client.wait_for(image_id)
    label = max(result["results"]["labels"], key=lambda item: item["confidence"])["name"]
    # When the user searches their images by its most confident label
    answer = client.call("GET", f"images?label={label}&minConfidence=50")
    # Then it is there
    assert answer.status == 200
    assert image_id in [item["imageId"] for item in answer.json()["items"]]


def test_a_file_that_is_not_an_image_fails_with_its_reason(client: AppClient) -> None:
    # Given bytes that are text, sent as image/png (the policy pins the Content-Type, not the bytes)
    image_id = client.upload("notes.png", b"these are notes, not pixels\n" * 20, "image/png")
    # When the worker looks at them
    result = client.wait_for(image_id)
    # Then the image failed with a clear reason and no result
    assert result["status"] == "FAILED"
    assert result["error"]["code"] == "UNSUPPORTED_FORMAT"
    assert result["error"]["message"]


def test_an_oversized_upload_is_refused_by_the_presigned_policy(client: AppClient) -> None:
    # Given an upload ticket
    ticket = client.create_upload("huge.jpg", "image/jpeg")
    # When more than 15 MiB are posted with it
    answer = client.post_file(ticket, image_bytes() + b"\0" * (15 * MIB), "image/jpeg")
    # Then S3 refuses the upload and the image never gets analysed
    assert answer.status == 400
    assert b"EntityTooLarge" in answer.body
    assert client.call("GET", f"images/{ticket['imageId']}").json()["status"] == "PENDING"


def test_a_duplicate_upload_is_not_analysed_again(client: AppClient) -> None:
    # Given an image that has been analysed
    photo = image_bytes(320, 240, "JPEG", seed=uuid.uuid4().int % 10**12)  # bytes no earlier run uploaded
    first = client.wait_for(client.upload("first.jpg", photo, "image/jpeg", ["labels"]))
    # When the same bytes are uploaded again as a new image
    second = client.wait_for(client.upload("again.jpg", photo, "image/jpeg", ["labels"]))
    # Then the second reuses the first analysis instead of calling Rekognition again
    assert second["status"] == "COMPLETED"
    assert second["reusedFrom"] == first["imageId"]
    assert second["results"] == first["results"]


def test_requests_without_a_valid_id_token_are_refused(client: AppClient) -> None:
    # Given no token, a malformed token, and an access token instead of an ID token
    access_token = client.tokens()["AccessToken"]
    # When they call the API / Then each is refused before reaching the function
    for token in ("", "not-a-jwt", access_token):
        answer = client.call("GET", "images", token=token)
        assert answer.status == 401, token
        assert answer.json() == {"message": "Unauthorized"}


def test_an_unknown_image_is_not_found(client: AppClient, photos: dict[str, bytes]) -> None:
    # Given an image of the demo user
    image_id = client.upload("mine.jpg", photos["cat.jpg"], "image/jpeg", ["labels"])
    # When someone asks for an image id that does not exist
    answer = client.call("GET", "images/not-an-image-of-mine")
    # Then it is 404, while the demo user's own image is found
    assert answer.status == 404
    assert client.call("GET", f"images/{image_id}").status == 200


def test_preflight_allows_the_web_page_origin(client: AppClient) -> None:
    # Given the web page's origin
    origin = find_output(client.outputs, "WebUrl").rstrip("/")
    # When a browser asks whether it may POST /images from there
    answer = http(
        "OPTIONS",
        client.api_url + "images",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    # Then the preflight allows that origin and method
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]


def test_web_page_is_served_with_its_runtime_config(client: AppClient) -> None:
    # Given the web URL from the outputs
    web = find_output(client.outputs, "WebUrl").rstrip("/")
    # When the page and its config are fetched
    page = http("GET", web + "/")
    config = http("GET", web + "/config.json")
    # Then the page is HTML and its config names this API and user pool
    assert page.status == 200
    assert b"<html" in page.body.lower()
    settings = json.loads(config.body)
    assert client.api_url in json.dumps(settings)
    assert find_output(client.outputs, "UserPoolId") in json.dumps(settings)


def test_a_webhook_receives_a_signed_event_for_each_analysed_image(client: AppClient) -> None:
    if "Local" not in client.outputs:
        pytest.skip("the receiver listens on this machine's loopback")
    # Given a receiver on loopback subscribed to image events, trusting the webhook's secret
    with WebhookReceiver() as receiver:
        answer = client.call("POST", "webhooks", {"url": receiver.url, "events": ["image.analyzed"]})
        assert answer.status == 201, answer.body
        receiver.trust(answer.json()["secret"])
        # When an image is analysed
        image_id = client.upload("hook.jpg", image_bytes(300, 200, "JPEG", seed=7), "image/jpeg", ["labels"])
        assert client.wait_for(image_id)["status"] == "COMPLETED"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [e for e in receiver.events if mine(e, image_id)]:
            receiver.wait_for(len(receiver.events) + 1, timeout=1)
        # Then its image.analyzed event arrived once, with a signature the receiver verified
        delivered = [event for event in receiver.events if mine(event, image_id)]
        assert [event.type for event in delivered] == ["image.analyzed"]
        assert receiver.stats.rejected == 0


def mine(event: ReceivedEvent, image_id: str) -> bool:
    return bool(event.payload.get("data", {}).get("imageId") == image_id)
