"""The real API handler's /webhooks routes against moto; test deliveries go through the real dispatcher."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from image_pipeline.api import composition as api_composition
from image_pipeline.api import handler as api_module
from image_pipeline.webhooks import composition as dispatcher_composition
from image_pipeline.webhooks import handler as dispatcher
from image_pipeline.webhooks.adapters.kms_secrets import KmsSecrets
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.secrets import signing_secrets
from image_pipeline.webhooks.domain.subscriptions import MAX_WEBHOOKS_PER_OWNER
from local.tools.webhook_receiver import WebhookReceiver
from tests.support.api_calls import Answer, call, proxy_event
from tests.support.lambda_sqs import feed_once
from tests.support.local_stacks import LocalStacks, provision_for
from tests.support.synth import Synthesized

API_HANDLER = "image_pipeline.handlers.api.handler"
DISPATCHER_HANDLER = "image_pipeline.handlers.dispatcher.handler"
ALICE, BOB = "a1b2c3d4-alice", "b5e6f7a8-bob"


@dataclass
class Api:
    stacks: LocalStacks
    receiver: WebhookReceiver

    def __call__(self, method: str, path: str, *, owner: str = ALICE, body: Any = None, **kw: Any) -> Answer:
        return call(api_module.handler, proxy_event(method, path, owner=owner, body=body, **kw))

    def create(self, owner: str = ALICE, url: str | None = None, **body: Any) -> dict[str, Any]:
        answer = self("POST", "/webhooks", owner=owner, body={"url": url or self.receiver.url, **body})
        assert answer.status == 201, answer
        return dict(answer.body)

    def dispatch(self) -> None:
        """Runs the dispatcher over the dispatch queue until it is empty."""
        for _ in range(20):
            queue_url = self.stacks.mapping(DISPATCHER_HANDLER).queue_url
            result = feed_once(self.stacks.sqs, queue_url, dispatcher.handler, 10, wait_seconds=0)
            if result.received == 0:
                return
        raise AssertionError("the dispatch queue never drained")


@pytest.fixture
def api(dev_synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with mock_aws(), WebhookReceiver() as receiver:
        stacks = provision_for(dev_synth, API_HANDLER, DISPATCHER_HANDLER)
        environment = {**stacks.environment(API_HANDLER), **stacks.environment(DISPATCHER_HANDLER)}
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        for cache in (api_composition.components, api_module.resolver, dispatcher_composition.components):
            cache.cache_clear()
        yield Api(stacks, receiver)
        for cache in (api_composition.components, api_module.resolver, dispatcher_composition.components):
            cache.cache_clear()


def test_creating_a_webhook_shows_its_secret_once(api: Api) -> None:
    # When alice subscribes her endpoint
    created = api.create(events=["image.analyzed"])
    # Then she gets its id and a whsec_ secret, and the listing never shows the secret again
    assert created["webhookId"].startswith("wh_")
    assert created["secret"].startswith("whsec_")
    assert (created["url"], created["events"], created["status"]) == (api.receiver.url, ["image.analyzed"], "ACTIVE")
    listed = api("GET", "/webhooks").body["items"]
    assert [w["webhookId"] for w in listed] == [created["webhookId"]]
    assert "secret" not in listed[0]
    assert created["secret"] not in json.dumps(listed)


def test_events_default_to_both_image_events(api: Api) -> None:
    # Given/When a webhook created without events, Then it gets both image events
    assert api.create()["events"] == ["image.analyzed", "image.failed"]


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://0x7f000001:9/", "ftp://127.0.0.1/"],
)
def test_a_url_webhooks_may_not_reach_is_refused(api: Api, url: str) -> None:
    # When alice registers a private, metadata, disguised-loopback or non-http URL, Then it is refused, unstored
    answer = api("POST", "/webhooks", body={"url": url, "events": ["image.analyzed"]})
    assert answer.status == 400
    assert "refused" in answer.message
    assert api("GET", "/webhooks").body["items"] == []


def test_https_is_required_outside_the_local_mode(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the API as deployed (no plain-HTTP allowance), When an http URL is registered, Then it is refused
    monkeypatch.delenv("WEBHOOK_ALLOW_HTTP")
    api_composition.components.cache_clear()
    answer = api("POST", "/webhooks", body={"url": api.receiver.url})
    assert answer.status == 400
    assert "https" in answer.message


def test_an_unknown_event_type_is_a_validation_error(api: Api) -> None:
    # When the events name something else, Then the schema refuses it (422)
    answer = api("POST", "/webhooks", body={"url": api.receiver.url, "events": ["image.deleted"]})
    assert answer.status == 422


def test_a_user_has_at_most_ten_webhooks(api: Api) -> None:
    # Given ten webhooks, When an eleventh is asked for, Then it conflicts
    for _ in range(MAX_WEBHOOKS_PER_OWNER):
        api.create()
    answer = api("POST", "/webhooks", body={"url": api.receiver.url})
    assert answer.status == 409


def test_another_users_webhook_is_not_found_like_an_unknown_one(api: Api) -> None:
    # Given alice's webhook, When bob uses its id on any route, Then he gets the same 404 as for an unknown id
    webhook_id = api.create(owner=ALICE)["webhookId"]
    unknown = "wh_" + "0" * 24
    since = {"since": datetime.now(UTC).isoformat()}
    for method, suffix, body in (
        ("DELETE", "", None),
        ("POST", "/rotate-secret", None),
        ("POST", "/test", None),
        ("POST", "/enable", None),
        ("GET", "/deliveries", None),
        ("POST", f"/deliveries/msg_{'0' * 32}/resend", None),
        ("POST", "/recover", since),
    ):
        theirs = api(method, f"/webhooks/{webhook_id}{suffix}", owner=BOB, body=body)
        missing = api(method, f"/webhooks/{unknown}{suffix}", owner=ALICE, body=body)
        assert (theirs.status, missing.status) == (404, 404), (method, suffix)
        assert theirs.message.replace(webhook_id, "X") == missing.message.replace(unknown, "X")
    assert api("GET", "/webhooks", owner=BOB).body["items"] == []
    assert len(api("GET", "/webhooks", owner=ALICE).body["items"]) == 1


def test_deleting_a_webhook_removes_it(api: Api) -> None:
    # Given a webhook, When it is deleted, Then it is gone (and a second delete is a 404)
    webhook_id = api.create()["webhookId"]
    assert api("DELETE", f"/webhooks/{webhook_id}").status == 204
    assert api("GET", "/webhooks").body["items"] == []
    assert api("DELETE", f"/webhooks/{webhook_id}").status == 404


def test_the_test_route_sends_a_signed_webhook_test_event(api: Api) -> None:
    # Given alice's webhook and her receiver holding its secret
    created = api.create()
    api.receiver.trust(created["secret"])
    # When she asks for a test event and the dispatcher runs
    answer = api("POST", f"/webhooks/{created['webhookId']}/test")
    assert answer.status == 202
    api.dispatch()
    # Then her receiver verified and got it, under the announced webhook-id
    [event] = api.receiver.events
    assert event.type == "webhook.test"
    assert event.message_id == answer.body["messageId"]
    assert event.payload["data"]["webhookId"] == created["webhookId"]
    # and the delivery with its attempt is in the history
    [delivery] = api("GET", f"/webhooks/{created['webhookId']}/deliveries").body["items"]
    assert (delivery["messageId"], delivery["eventType"], delivery["status"]) == (
        answer.body["messageId"],
        "webhook.test",
        "DELIVERED",
    )
    [attempt] = delivery["attempts"]
    assert (attempt["attempt"], attempt["statusCode"], attempt["outcome"]) == (1, 200, "delivered")


def test_rotating_the_secret_keeps_the_previous_one_signing_for_a_day(api: Api) -> None:
    # Given a webhook whose receiver knows only the first secret
    created = api.create()
    api.receiver.trust(created["secret"])
    # When the secret is rotated
    answer = api("POST", f"/webhooks/{created['webhookId']}/rotate-secret")
    assert answer.status == 200
    rotated = answer.body
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    overlap = datetime.fromisoformat(rotated["previousSecretExpiresAt"]) - datetime.fromisoformat(created["createdAt"])
    assert 23.9 * 3600 < overlap.total_seconds() < 24.1 * 3600
    # Then a test event still verifies with the old secret (it is signed by both)
    api("POST", f"/webhooks/{created['webhookId']}/test")
    api.dispatch()
    assert [e.type for e in api.receiver.events] == ["webhook.test"]


def test_rotating_with_expire_previous_stops_the_old_secret_at_once(api: Api) -> None:
    # Given a webhook whose secret leaked, and a receiver that trusts only that old secret
    created = api.create()
    api.receiver.trust(created["secret"])
    # When the owner rotates with expirePrevious=true
    answer = api("POST", f"/webhooks/{created['webhookId']}/rotate-secret?expirePrevious=true")
    assert answer.status == 200
    assert answer.body["previousSecretExpiresAt"] is None
    # Then a test event is no longer signed with the old secret: the receiver refuses it
    api("POST", f"/webhooks/{created['webhookId']}/test")
    api.dispatch()
    assert api.receiver.events == []


def test_two_concurrent_rotations_keep_both_secrets_in_the_table(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given rotation A, which reads the subscription, and rotation B that writes before A does (the real
    # conditional write of the table in moto decides)
    created = api.create()
    webhook_id = created["webhookId"]
    original = WebhookStore.replace_secrets
    second: list[Answer] = []
    refused: list[bool] = []
    raced: list[bool] = []

    def racing(self: WebhookStore, webhook_id_: str, secrets: Any, read_version: int) -> bool:
        if not raced:
            raced.append(True)
            second.append(api("POST", f"/webhooks/{webhook_id}/rotate-secret"))
        written = original(self, webhook_id_, secrets, read_version)
        refused.append(not written)
        return written

    monkeypatch.setattr(WebhookStore, "replace_secrets", racing)
    # When A writes
    first = api("POST", f"/webhooks/{webhook_id}/rotate-secret")
    # Then B wrote first, A's first write was refused, A re-read and wrote: both secrets sign
    assert (first.status, second[0].status) == (200, 200)
    assert refused == [False, True, False]
    monkeypatch.undo()
    stored = api_composition.components().webhooks.get(ALICE, webhook_id)
    opener = KmsSecrets(
        api.stacks.clients["kms"], api.stacks.environment(DISPATCHER_HANDLER)["WEBHOOK_SECRETS_KEY_ARN"]
    )
    assert signing_secrets(stored, time.time(), opener.open) == [first.body["secret"], second[0].body["secret"]]


def test_deliveries_are_listed_newest_first_in_pages(api: Api) -> None:
    # Given three delivered test events, When the history is read two at a time, Then the pages hold all three
    created = api.create()
    api.receiver.trust(created["secret"])
    ids = [api("POST", f"/webhooks/{created['webhookId']}/test").body["messageId"] for _ in range(3)]
    api.dispatch()
    first = api("GET", f"/webhooks/{created['webhookId']}/deliveries?limit=2").body
    assert len(first["items"]) == 2
    assert first["nextToken"]
    rest = api("GET", f"/webhooks/{created['webhookId']}/deliveries?limit=2&nextToken={first['nextToken']}").body
    listed = [d["messageId"] for d in first["items"] + rest["items"]]
    assert sorted(listed) == sorted(ids)
    assert rest["nextToken"] is None
    # A token of another webhook's listing is refused
    other = api.create()["webhookId"]
    assert api("GET", f"/webhooks/{other}/deliveries?nextToken={first['nextToken']}").status == 400


def test_one_delivery_can_be_resent_with_its_webhook_id_and_body(api: Api) -> None:
    # Given a delivered test event
    created = api.create()
    webhook_id = created["webhookId"]
    api.receiver.trust(created["secret"])
    message_id = api("POST", f"/webhooks/{webhook_id}/test").body["messageId"]
    api.dispatch()
    # When alice resends it
    answer = api("POST", f"/webhooks/{webhook_id}/deliveries/{message_id}/resend")
    assert (answer.status, answer.body["queued"]) == (202, 1)
    api.dispatch()
    # Then the receiver got the same webhook-id again (and dropped it as a duplicate), and the log shows both
    assert (api.receiver.stats.accepted, api.receiver.stats.duplicates) == (1, 1)
    [delivery] = api("GET", f"/webhooks/{webhook_id}/deliveries").body["items"]
    assert delivery["status"] == "DELIVERED"
    assert [a["outcome"] for a in delivery["attempts"]] == ["delivered", "delivered"]
    assert "body" not in delivery
    # An unknown delivery is a 404
    assert api("POST", f"/webhooks/{webhook_id}/deliveries/msg_{'1' * 32}/resend").status == 404


def test_recover_sends_again_what_failed_since_a_time(api: Api) -> None:
    # Given two test deliveries refused with a 400 (FAILED, no retry) and one delivered
    created = api.create()
    webhook_id = created["webhookId"]
    api.receiver.trust(created["secret"])
    api.receiver.fail_next(2, 400)
    ids = [api("POST", f"/webhooks/{webhook_id}/test").body["messageId"] for _ in range(3)]
    api.dispatch()
    statuses = {d["messageId"]: d["status"] for d in api("GET", f"/webhooks/{webhook_id}/deliveries").body["items"]}
    assert sorted(statuses.values()) == ["DELIVERED", "FAILED", "FAILED"]
    # When alice recovers everything that failed in the last hour
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    answer = api("POST", f"/webhooks/{webhook_id}/recover", body={"since": since})
    assert (answer.status, answer.body["queued"]) == (202, 2)
    api.dispatch()
    # Then the two failed ones are delivered now, and the delivered one was not sent again
    statuses = {d["messageId"]: d["status"] for d in api("GET", f"/webhooks/{webhook_id}/deliveries").body["items"]}
    assert set(statuses) == set(ids)
    assert set(statuses.values()) == {"DELIVERED"}
    assert (api.receiver.stats.accepted, api.receiver.stats.duplicates) == (3, 0)
    # A time in the future finds nothing; one before the 30 days records are kept recovers those 30 days
    # (any schema-valid time is accepted: the API fuzzer sends year 0523)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for since in (future, "0523-04-22T19:06:13.7-07:09"):
        answer = api("POST", f"/webhooks/{webhook_id}/recover", body={"since": since})
        assert (answer.status, answer.body["queued"]) == (202, 0), answer


def test_a_disabled_webhook_says_why_and_can_be_enabled_again(api: Api) -> None:
    # Given a webhook disabled by a 410, Then the listing says why, tests are refused until it is enabled again
    created = api.create()
    api.receiver.trust(created["secret"])
    api.receiver.fail_next(1, 410)
    api("POST", f"/webhooks/{created['webhookId']}/test")
    api.dispatch()
    [shown] = api("GET", "/webhooks").body["items"]
    assert shown["status"] == "DISABLED"
    assert "410" in shown["disabledReason"]
    assert api("POST", f"/webhooks/{created['webhookId']}/test").status == 409
    enabled = api("POST", f"/webhooks/{created['webhookId']}/enable").body
    assert (enabled["status"], enabled["disabledReason"]) == ("ACTIVE", None)
    assert api("POST", f"/webhooks/{created['webhookId']}/test").status == 202


def test_secrets_in_answers_are_not_put_into_traces(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sampled invocation (Lambda's active tracing) and a daemon that records every subsegment it gets
    sent: list[str] = []

    class Recording:
        def send(self, document: dict[str, Any]) -> None:
            sent.append(json.dumps(document, default=str))

    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.setattr(api_module.tracer, "_sender", Recording())
    # When alice creates a webhook and rotates its secret
    created = api.create()
    rotated = api("POST", f"/webhooks/{created['webhookId']}/rotate-secret").body
    # Then the invocations and their AWS calls were traced
    documents = [json.loads(text) for text in sent]
    assert [d["name"] for d in documents].count("## handler") == 2
    assert {d["aws"]["operation"] for d in documents if d.get("namespace") == "aws"} >= {"PutItem"}
    # And neither secret is in any of them
    assert not any(created["secret"] in text or rotated["secret"] in text for text in sent)


@pytest.mark.parametrize(
    "key",
    [
        {"pk": "WEBHOOK#wh_" + "1" * 24, "sk": "DELIVERY#2026#msg_x"},  # another webhook's partition
        {"pk": "{own}", "sk": "WEBHOOK"},  # the subscription item, not a delivery
        {"pk": "{own}", "sk": 5},
        {"pk": "{own}", "sk": "DELIVERY#2026#msg_x", "extra": "x"},
        {"pk": "{own}"},
    ],
)
def test_a_forged_deliveries_token_is_a_bad_request(api: Api, key: dict[str, Any]) -> None:
    # Given alice's webhook, and a token that names it but carries a start key the API never issued
    webhook_id = api.create()["webhookId"]
    forged_key = {name: value.replace("{own}", f"WEBHOOK#{webhook_id}") if isinstance(value, str) else value
                  for name, value in key.items()}  # fmt: skip
    raw = json.dumps({"w": webhook_id, "k": forged_key}).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    # When she lists the deliveries with it, Then it is her mistake (400), not a server error
    answer = api("GET", f"/webhooks/{webhook_id}/deliveries?nextToken={token}")
    assert answer.status == 400, answer


# --- Requests the API cannot read (issue 10): 4xx that say why, never 5xx ---


def test_a_subscription_body_that_is_not_utf8_is_a_bad_request(api: Api) -> None:
    raw = json.dumps({"url": api.receiver.url}).encode("utf-16")
    answer = api("POST", "/webhooks", raw=raw)
    assert (answer.status, answer.message) == (400, "body: not UTF-8 text"), answer
    assert api("GET", "/webhooks").body["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{url}", 400, "body: not valid JSON"),
        ('["https://example.com/hook"]', 422, "body: Input should be a valid dictionary or object"),
        ('"https://example.com/hook"', 422, "body: Input should be a valid dictionary or object"),
    ],
)
def test_a_subscription_body_that_is_not_a_json_object_is_refused_with_what_is_wrong(
    api: Api, body: str, status: int, message: str
) -> None:
    answer = api("POST", "/webhooks", body=body)
    assert answer.status == status, answer
    assert answer.message.startswith(message), answer.body


def test_a_subscription_sent_as_a_form_is_an_unsupported_media_type(api: Api) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = api("POST", "/webhooks", body=f"url={api.receiver.url}", headers=headers)
    assert (answer.status, answer.message) == (
        415,
        "Content-Type must be application/json, not application/x-www-form-urlencoded",
    )


def test_an_oversize_subscription_body_is_refused(api: Api) -> None:
    body = json.dumps({"url": api.receiver.url, "padding": "x" * api_module.MAX_BODY_BYTES})
    answer = api("POST", "/webhooks", body=body)
    assert answer.status == 413, answer


@pytest.mark.parametrize("webhook_id", ["wh_123", "..%2Fx"])
@pytest.mark.parametrize(
    "route",
    [
        "DELETE /webhooks/{}",
        "POST /webhooks/{}/rotate-secret",
        "POST /webhooks/{}/enable",
        "POST /webhooks/{}/test",
        "GET /webhooks/{}/deliveries",
    ],
)
def test_a_webhook_id_of_the_wrong_form_is_not_found_and_the_answer_says_why(
    api: Api, route: str, webhook_id: str
) -> None:
    method, path = route.split(" ")
    answer = api(method, path.format(webhook_id))
    assert answer.status == 404, answer
    assert answer.message.startswith("path.webhookId: String should match pattern"), answer.body


def test_test_sends_are_limited_per_webhook_and_minute(api: Api) -> None:
    # Given two webhooks of alice's
    flooded, other = api.create()["webhookId"], api.create()["webhookId"]
    # When she sends six tests to one of them within a minute
    answers = [api("POST", f"/webhooks/{flooded}/test") for _ in range(6)]
    # Then five are queued and the sixth is refused with 429, saying when to try again
    assert [a.status for a in answers] == [202] * 5 + [429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert "test sends" in answers[-1].message
    # while her other webhook is not affected
    assert api("POST", f"/webhooks/{other}/test").status == 202


@pytest.mark.parametrize("port", [22, 6379, 8443])
def test_a_port_other_than_443_is_refused_with_a_reason(api: Api, port: int) -> None:
    # When alice registers a public address on another port, Then it is refused (400) naming the rule, unstored
    answer = api("POST", "/webhooks", body={"url": f"https://93.184.215.14:{port}/hook"})
    assert answer.status == 400
    assert f"port {port}" in answer.message
    assert "443" in answer.message
    assert api("GET", "/webhooks").body["items"] == []
