"""The dispatcher's timing decisions with a fake clock: waits longer than SQS allows, re-sends, give-up."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from image_pipeline.shared.errors import Conflict
from image_pipeline.webhooks.adapters.sqs_jobs import MAX_DELAY_SECONDS, SqsJobQueue
from image_pipeline.webhooks.domain.dispatch import ABANDONED_AFTER_SECONDS, Dispatcher, DispatchSettings
from image_pipeline.webhooks.domain.model import (
    RESPONSE_EXCERPT_BYTES,
    AttemptRecord,
    DeliveryJob,
    DeliveryStatus,
    SigningSecret,
    Subscription,
)
from image_pipeline.webhooks.domain.ports import DeliveryState, EndpointAnswer
from image_pipeline.webhooks.domain.schedule import RetrySchedule
from image_pipeline.webhooks.domain.secrets import MAX_LIVE_SECRETS, SecretContext, signing_secrets
from image_pipeline.webhooks.domain.signing import generate_secret, message_id, webhook_headers
from image_pipeline.webhooks.domain.subscriptions import ROTATION_ATTEMPTS, WebhookService
from image_pipeline.webhooks.domain.targets import TargetPolicy
from tests.support.fake_secrets import FakeSeal

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
    secrets=(SigningSecret(FakeSeal().seal("whsec_" + "A" * 43 + "=", SecretContext("wh_1", "alice"))),),
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
        secrets=FakeSeal(),
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
        secrets=FakeSeal(),
        clock=clock,
        uniform=lambda low, high: 1.0,
    )
    return dispatcher, sqs


def test_retries_keep_the_webhook_id_and_body_and_sign_a_fresh_timestamp() -> None:
    # Given an endpoint that answers 503 once, then 200, and a clock at the real time (the library checks it)
    secret = generate_secret()
    subscription = replace(
        SUBSCRIPTION, secrets=(SigningSecret(FakeSeal().seal(secret, SecretContext("wh_1", "alice"))),)
    )
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
    """The subscription, with the conditional write of the table (a version read before writing); ``meanwhile``
    runs once, between a rotation's read and its write: a second rotation racing the first."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.meanwhile: list[Any] = []
        self.refused_writes = 0

    def get_subscription(self, webhook_id: str) -> Subscription:
        return self.subscription

    def replace_secrets(self, webhook_id: str, secrets: tuple[SigningSecret, ...], read_version: int) -> bool:
        pending, self.meanwhile = self.meanwhile, []
        for step in pending:
            step()
        if read_version != self.subscription.secrets_version:
            self.refused_writes += 1
            return False
        self.subscription = replace(self.subscription, secrets=secrets, secrets_version=read_version + 1)
        return True


def _rotating_service(repository: Rotating, clock: Clock, seal: FakeSeal) -> WebhookService:
    return WebhookService(
        repository=repository, flows=None, deliveries=None, policy=TargetPolicy(), secrets=seal, clock=clock
    )  # type: ignore[arg-type]


def _signing(subscription: Subscription, at: float, seal: FakeSeal) -> list[str]:
    return signing_secrets(subscription, at, seal.open)


def test_a_webhook_has_at_most_two_live_secrets_and_the_previous_one_signs_for_24_hours() -> None:
    # Given a webhook whose secret is rotated now, and again an hour later
    seal = FakeSeal()
    old = seal.open(SUBSCRIPTION.secrets[0].value, SecretContext("wh_1", "alice"))
    repository, clock = Rotating(SUBSCRIPTION), Clock()
    service = _rotating_service(repository, clock, seal)
    first = service.rotate_secret("alice", "wh_1").secret
    assert _signing(repository.subscription, NOW, seal) == [first, old]
    clock.now += 3600
    second = service.rotate_secret("alice", "wh_1").secret
    subscription = repository.subscription
    # Then only the newest and the one it replaced sign: the original is retired by the second rotation
    assert len(subscription.secrets) == MAX_LIVE_SECRETS
    assert _signing(subscription, NOW + 3600, seal) == [second, first]
    # and the replaced one stops 24 hours after the rotation that replaced it
    assert _signing(subscription, NOW + 25 * 3600 - 1, seal) == [second, first]
    assert _signing(subscription, NOW + 25 * 3600 + 1, seal) == [second]
    headers = webhook_headers(_signing(subscription, NOW + 25 * 3600 + 1, seal), "msg_1", int(NOW), "{}")
    assert headers["webhook-signature"].count("v1,") == 1


def test_300_rotations_still_leave_two_secrets() -> None:
    # Given a webhook rotated 300 times within a day (the 301 live secrets and a 14 KB header)
    seal, repository, clock = FakeSeal(), Rotating(SUBSCRIPTION), Clock()
    service = _rotating_service(repository, clock, seal)
    for _ in range(300):
        service.rotate_secret("alice", "wh_1")
        clock.now += 60
    # Then two secrets are stored and sign
    assert len(repository.subscription.secrets) == 2
    assert len(_signing(repository.subscription, clock.now, seal)) == 2


def test_a_rotation_can_expire_the_previous_secret_at_once() -> None:
    # Given a leaked secret, When the owner rotates with expire_previous
    seal, repository, clock = FakeSeal(), Rotating(SUBSCRIPTION), Clock()
    rotated = _rotating_service(repository, clock, seal).rotate_secret("alice", "wh_1", expire_previous=True)
    # Then only the new secret signs, from this moment, and no overlap is announced
    assert rotated.previous_secret_expires_at is None
    assert _signing(repository.subscription, NOW, seal) == [rotated.secret]


def test_two_concurrent_rotations_lose_neither_secret() -> None:
    # Given rotation A reads the subscription, and rotation B runs to its end before A writes
    seal, repository, clock = FakeSeal(), Rotating(SUBSCRIPTION), Clock()
    service = _rotating_service(repository, clock, seal)
    results: dict[str, str] = {}
    repository.meanwhile.append(lambda: results.setdefault("B", service.rotate_secret("alice", "wh_1").secret))
    # When A writes
    results["A"] = service.rotate_secret("alice", "wh_1").secret
    # Then A's first write was refused (B had written), A re-read and wrote over B: both secrets sign
    assert repository.refused_writes == 1
    assert _signing(repository.subscription, NOW, seal) == [results["A"], results["B"]]


def test_a_rotation_that_keeps_losing_races_is_a_conflict() -> None:
    # Given a rotation that another one overtakes before every write it tries
    seal, repository, clock = FakeSeal(), Rotating(SUBSCRIPTION), Clock()
    service = _rotating_service(repository, clock, seal)

    def overtake() -> None:
        repository.subscription = replace(
            repository.subscription, secrets_version=repository.subscription.secrets_version + 1
        )
        repository.meanwhile.append(overtake)

    repository.meanwhile.append(overtake)
    # When it has tried as often as it may, Then it gives up with a conflict and wrote nothing
    with pytest.raises(Conflict):
        service.rotate_secret("alice", "wh_1")
    assert repository.refused_writes == ROTATION_ATTEMPTS
    assert repository.subscription.secrets == SUBSCRIPTION.secrets


def test_a_sealed_secret_opens_only_for_its_own_webhook() -> None:
    # Given a secret sealed for wh_1, copied into another webhook's subscription
    stolen = replace(SUBSCRIPTION, webhook_id="wh_2")
    # When the dispatcher opens it to sign, Then the seal's context does not match
    with pytest.raises(ValueError, match="context"):
        _signing(stolen, NOW, FakeSeal())


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


class Answering:
    def __init__(self, answer: EndpointAnswer) -> None:
        self.answer = answer

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        return self.answer


def test_the_delivery_log_keeps_the_first_kib_of_the_answer() -> None:
    # Given an endpoint answering 500 with 3,000 bytes of two-byte characters and a replaced invalid byte
    dispatcher, _, repository, _ = _dispatcher(500)
    text = "\ufffd" + "é" * 1500
    dispatcher._transport = Answering(EndpointAnswer(500, 12, body_excerpt=text))
    # When the attempt is made
    dispatcher.deliver(_job(1, NOW))
    # Then the attempt keeps 1 KiB at most, whole characters only, next to its status and latency
    [(attempt, _, _)] = repository.attempts
    document = attempt.document()
    assert (document["statusCode"], document["latencyMs"]) == (500, 12)
    kept = document["response"].encode()
    assert RESPONSE_EXCERPT_BYTES - 2 < len(kept) <= RESPONSE_EXCERPT_BYTES
    assert document["response"] == text[: len(document["response"])]
