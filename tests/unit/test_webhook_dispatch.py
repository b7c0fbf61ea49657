"""The dispatcher's timing decisions with a fake clock: waits longer than SQS allows, re-sends, give-up."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from standardwebhooks.webhooks import Webhook

from image_pipeline.webhooks.adapters.sqs_jobs import MAX_DELAY_SECONDS, SqsJobQueue
from image_pipeline.webhooks.domain.dispatch import ABANDONED_AFTER_SECONDS, Dispatcher, DispatchSettings
from image_pipeline.webhooks.domain.model import (
    AttemptRecord,
    DeliveryJob,
    DeliveryStatus,
    SigningSecret,
    Subscription,
)
from image_pipeline.webhooks.domain.ports import DeliveryState, EndpointAnswer
from image_pipeline.webhooks.domain.schedule import RetrySchedule
from image_pipeline.webhooks.domain.signing import generate_secret, message_id, webhook_headers
from image_pipeline.webhooks.domain.subscriptions import WebhookService
from image_pipeline.webhooks.domain.targets import TargetPolicy

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.sent += Entries
        return {"Successful": Entries}

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:  # noqa: N803
        self.sent.append({"QueueUrl": QueueUrl, "MessageBody": MessageBody})


class Repository:
    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.records: dict[str, DeliveryState] = {}
        self.attempts: list[tuple[AttemptRecord, DeliveryStatus, str | None]] = []

    def list_subscriptions(self, owner: str) -> list[Subscription]:
        return [self.subscription] if owner == self.subscription.owner else []

    def get_subscription(self, webhook_id: str) -> Subscription | None:
        return self.subscription

    def create_delivery(self, job: DeliveryJob, created_at: str, expires_at: int) -> bool:
        if job.delivery_key in self.records:
            return False
        self.records[job.delivery_key] = DeliveryState(0, NOW)
        return True

    def delivery_state(self, webhook_id: str, delivery_key: str) -> DeliveryState | None:
        return self.records.get(delivery_key)

    def record_attempt(self, job: Any, attempt: AttemptRecord, status: DeliveryStatus, next_at: str | None) -> None:
        self.attempts.append((attempt, status, next_at))

    def note_failure(self, webhook_id: str, now: float) -> float:
        return now

    def note_success(self, webhook_id: str) -> None: ...

    def disable(self, webhook_id: str, reason: str, at: str) -> None: ...


class Transport:
    def __init__(self, status: int | None) -> None:
        self.status = status
        self.posts = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        self.posts += 1
        return EndpointAnswer(self.status, 3)


SUBSCRIPTION = Subscription(
    webhook_id="wh_1",
    owner="alice",
    url="https://hooks.example.com/in",
    events=("image.analyzed",),
    secrets=(SigningSecret("whsec_" + "A" * 43 + "="),),
    created_at="2026-11-22T00:00:00.000Z",
)
EVENT = {"id": "e1", "type": "image.analyzed", "time": "2026-11-22T01:00:00.000Z", "data": {"owner": "alice"}}


def _dispatcher(status: int | None, *, max_attempts: int = 12) -> tuple[Dispatcher, FakeSqs, Repository, Clock]:
    sqs, repository, clock = FakeSqs(), Repository(SUBSCRIPTION), Clock()
    dispatcher = Dispatcher(
        repository=repository,  # type: ignore[arg-type]
        queue=SqsJobQueue(sqs, "dispatch", "dead-letters"),
        transport=Transport(status),
        settings=DispatchSettings(schedule=RetrySchedule(max_attempts=max_attempts)),
        clock=clock,
        uniform=lambda low, high: 1.0,
    )
    return dispatcher, sqs, repository, clock


def _job(attempt: int, not_before: float) -> DeliveryJob:
    return DeliveryJob("wh_1", "msg_1", "DELIVERY#t#msg_1", "image.analyzed", "{}", NOW, attempt, not_before)


def test_a_wait_longer_than_15_minutes_takes_several_hops() -> None:
    # Given attempt 8 failed: the next one is due in 10,935 s (about 3 h)
    dispatcher, sqs, repository, clock = _dispatcher(503)
    dispatcher.deliver(_job(8, NOW))
    [(attempt, status, next_at)] = repository.attempts
    assert (attempt.outcome.value, status) == ("retry", DeliveryStatus.RETRYING)
    assert next_at == "2027-01-15T11:02:15.000Z"  # NOW + 10,935 s
    [hop] = sqs.sent
    assert hop["DelaySeconds"] == MAX_DELAY_SECONDS
    # When the job comes back after 15 minutes, it is early: it goes back to wait, nothing is sent
    clock.now += MAX_DELAY_SECONDS
    assert dispatcher.deliver(DeliveryJob.from_message(json.loads(hop["MessageBody"]))) == "waiting"
    assert len(repository.attempts) == 1
    assert sqs.sent[-1]["DelaySeconds"] == MAX_DELAY_SECONDS
    # and a job due within 15 minutes is delayed exactly that long
    clock.now = NOW + 10_935 - 100
    dispatcher.deliver(_job(9, NOW + 10_935))
    assert sqs.sent[-1]["DelaySeconds"] == 100


def test_after_the_last_attempt_the_job_goes_to_the_dead_letter_queue() -> None:
    dispatcher, sqs, repository, _ = _dispatcher(500, max_attempts=3)
    dispatcher.deliver(_job(3, NOW))
    [(_, status, next_at)] = repository.attempts
    assert (status, next_at) == (DeliveryStatus.FAILED, None)
    [dead] = sqs.sent
    assert dead["QueueUrl"] == "dead-letters"


def test_a_timeout_is_retried_like_a_5xx() -> None:
    dispatcher, sqs, repository, _ = _dispatcher(None)
    dispatcher.deliver(_job(1, NOW))
    assert repository.attempts[0][1] is DeliveryStatus.RETRYING
    assert sqs.sent[0]["DelaySeconds"] == 5


def test_a_duplicate_event_queues_nothing_but_an_abandoned_fan_out_is_mended() -> None:
    dispatcher, sqs, _, clock = _dispatcher(200)
    assert dispatcher.handle(EVENT) == "fanned out to 1"
    # A duplicate of the event while the first job waits: nothing more is queued
    assert dispatcher.handle(EVENT) == "fanned out to 0"
    # A redelivery long after a fan-out that wrote the record but died before sending: sent again
    clock.now += ABANDONED_AFTER_SECONDS
    assert dispatcher.handle(EVENT) == "fanned out to 1"
    assert len(sqs.sent) == 2


def test_the_redrive_restarts_a_job_with_the_same_id_and_body() -> None:
    job = _job(12, NOW)
    restarted = job.restarted(NOW + 86400)
    assert (restarted.message_id, restarted.body, restarted.attempt) == (job.message_id, job.body, 1)
    assert restarted.first_attempt_at == NOW + 86400


class Recording:
    """Answers with the given statuses in turn and keeps the headers of every request."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        self.requests.append((body, headers))
        return EndpointAnswer(self.statuses.pop(0), 3)


def _recording_dispatcher(subscription: Subscription, transport: Recording, clock: Clock) -> tuple[Dispatcher, FakeSqs]:
    sqs = FakeSqs()
    dispatcher = Dispatcher(
        repository=Repository(subscription),  # type: ignore[arg-type]
        queue=SqsJobQueue(sqs, "dispatch", "dead-letters"),
        transport=transport,
        settings=DispatchSettings(),
        clock=clock,
        uniform=lambda low, high: 1.0,
    )
    return dispatcher, sqs


def test_retries_keep_the_webhook_id_and_body_and_sign_a_fresh_timestamp() -> None:
    # Given an endpoint that answers 503 once, then 200, and a clock at the real time (the library checks it)
    secret = generate_secret()
    subscription = replace(SUBSCRIPTION, secrets=(SigningSecret(secret),))
    transport, clock = Recording(503, 200), Clock()
    clock.now = float(int(time.time()))
    dispatcher, sqs = _recording_dispatcher(subscription, transport, clock)
    dispatcher.handle({**EVENT, "data": {"owner": "alice", "imageId": "img-1", "status": "COMPLETED"}})
    # When the first attempt fails and the retry comes when due (5 s later)
    [first_job] = sqs.sent
    assert dispatcher.handle(json.loads(first_job["MessageBody"])) == "retry"
    clock.now += 5
    assert dispatcher.handle(json.loads(sqs.sent[-1]["MessageBody"])) == "delivered"
    # Then both requests carry the same webhook-id and body, each its own timestamp, and both verify
    (body_1, headers_1), (body_2, headers_2) = transport.requests
    assert headers_1["webhook-id"] == headers_2["webhook-id"] == message_id("e1", subscription.webhook_id)
    assert body_1 == body_2
    assert int(headers_2["webhook-timestamp"]) - int(headers_1["webhook-timestamp"]) == 5
    for body, headers in transport.requests:
        assert Webhook(secret).verify(body, headers)["data"]["imageId"] == "img-1"


class Rotating:
    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription

    def get_subscription(self, webhook_id: str) -> Subscription:
        return self.subscription

    def replace_secrets(self, webhook_id: str, secrets: tuple[SigningSecret, ...]) -> None:
        self.subscription = self.subscription.with_secrets(secrets)


def test_a_rotated_out_secret_signs_for_24_hours_and_then_stops() -> None:
    # Given a webhook whose secret is rotated now, and again an hour later
    old = SUBSCRIPTION.secrets[0].value
    repository, clock = Rotating(SUBSCRIPTION), Clock()
    service = WebhookService(repository=repository, flows=None, deliveries=None, policy=TargetPolicy(), clock=clock)  # type: ignore[arg-type]
    first = service.rotate_secret("alice", "wh_1").secret
    clock.now += 3600
    second = service.rotate_secret("alice", "wh_1").secret
    subscription = repository.subscription
    # Then the newest signs first, and every secret rotated out in the last 24 hours signs too
    assert subscription.secrets_in_use(NOW + 3600) == [second, first, old]
    # until its own 24 hours are over: the first secret's overlap ends later than the original one's
    assert subscription.secrets_in_use(NOW + 24 * 3600 + 1) == [second, first]
    assert subscription.secrets_in_use(NOW + 25 * 3600 + 1) == [second]
    headers = webhook_headers(subscription.secrets_in_use(NOW + 25 * 3600 + 1), "msg_1", int(NOW), "{}")
    assert headers["webhook-signature"].count("v1,") == 1


def test_large_jobs_are_sent_in_batches_that_sqs_accepts() -> None:
    # Given an event with 100 KB of results for an owner with ten webhooks (one job per webhook)
    sqs = FakeSqs()
    batches: list[list[dict[str, Any]]] = []
    sqs.send_message_batch = lambda QueueUrl, Entries: batches.append(Entries) or {"Successful": Entries}  # type: ignore[method-assign]  # noqa: N803
    body = json.dumps({"data": {"results": {"text": "x" * 100_000}}})
    jobs = [
        DeliveryJob(f"wh_{n}", f"msg_{n}", f"DELIVERY#t#msg_{n}", "image.analyzed", body, NOW, 1, NOW)
        for n in range(10)
    ]
    # When they are queued
    SqsJobQueue(sqs, "dispatch").enqueue(jobs, NOW)
    # Then every job is sent once, in batches whose messages together stay within SQS's 256 KiB per request
    assert sorted(json.loads(e["MessageBody"])["webhookId"] for b in batches for e in b) == sorted(
        j.webhook_id for j in jobs
    )
    assert all(sum(len(e["MessageBody"].encode()) for e in batch) <= 256 * 1024 for batch in batches)
    assert all(len({e["Id"] for e in batch}) == len(batch) <= 10 for batch in batches)
