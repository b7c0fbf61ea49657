"""One tenant's slow or dead endpoints cannot stall another's deliveries: slots, shares, breaker, leases.

The real dispatcher handler and the webhooks table in moto; the endpoints are a fake transport whose slow
endpoint blocks on an event until the test lets it go, so what waited on what is counted, never timed.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from moto import mock_aws

from image_pipeline.webhooks import composition as dispatcher_composition
from image_pipeline.webhooks import handler as dispatcher
from image_pipeline.webhooks.adapters.kms_secrets import KmsSecrets
from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.dispatch import Dispatcher, DispatchSettings
from image_pipeline.webhooks.domain.fairness import Deferral, FairnessSettings, FlowControl, Lease
from image_pipeline.webhooks.domain.model import DeliveryJob, Failure, Subscription
from image_pipeline.webhooks.domain.ports import EndpointAnswer, FlowScope
from image_pipeline.webhooks.domain.subscriptions import WebhookService
from tests.handlers.conftest import serialise_moto
from tests.handlers.test_dispatcher import DISPATCHER_HANDLER, image_event
from tests.support.lambda_sqs import feed_once
from tests.support.local_stacks import LocalStacks, provision_for
from tests.support.synth import Synthesized

SLOW = "/slow"
# Only a safety net so that a broken build fails instead of hanging: no assertion depends on time.
STUCK_SECONDS = 20


@dataclass
class Endpoints:
    """Fast endpoints answer 204 at once; a URL with /slow blocks until ``release`` is set, then times out."""

    release: threading.Event = field(default_factory=threading.Event)
    slow_entered: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slow_in_flight: int = 0
    slow_started: int = 0
    slow_finished: int = 0
    most_slow_at_once: int = 0
    # For each fast POST: (url, slow attempts in flight then, slow attempts finished before it)
    fast: list[tuple[str, int, int]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        if SLOW not in url:
            with self.lock:
                self.fast.append((url, self.slow_in_flight, self.slow_finished))
            return EndpointAnswer(204, 1)
        with self.lock:
            self.slow_in_flight += 1
            self.slow_started += 1
            self.most_slow_at_once = max(self.most_slow_at_once, self.slow_in_flight)
        self.slow_entered.set()
        self.release.wait(STUCK_SECONDS)
        with self.lock:
            self.slow_in_flight -= 1
            self.slow_finished += 1
        return EndpointAnswer.failed(Failure.TIMEOUT, 15_000)


@dataclass
class Fleet:
    stacks: LocalStacks
    table: WebhookStore
    endpoints: Endpoints

    def subscribe(self, owner: str, path: str) -> Subscription:
        return self.service().create(owner, f"http://127.0.0.1:9{path}", ["image.analyzed"]).subscription

    def service(self) -> WebhookService:
        return self.stacks.webhook_service(DISPATCHER_HANDLER)

    @property
    def queue_url(self) -> str:
        return self.stacks.mapping(DISPATCHER_HANDLER).queue_url

    def invoke(self) -> int:
        """One dispatcher invocation (one Lambda instance) on the next batch; how many records it got."""
        batch_size = self.stacks.mapping(DISPATCHER_HANDLER).batch_size
        return feed_once(self.stacks.sqs, self.queue_url, dispatcher.handler, batch_size, 0).received


@pytest.fixture
def fleet(dev_synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    serialise_moto(monkeypatch)  # two invocations at once, as two Lambda instances
    endpoints = Endpoints()
    with mock_aws():
        stacks = provision_for(dev_synth, DISPATCHER_HANDLER)
        environment = stacks.environment(DISPATCHER_HANDLER)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(dispatcher_composition, "SafeTransport", lambda *args, **kwargs: endpoints)
        dispatcher_composition.components.cache_clear()
        try:
            yield Fleet(stacks, WebhookStore(stacks.dynamodb, environment["WEBHOOKS_TABLE_NAME"]), endpoints)
        finally:
            endpoints.release.set()
            dispatcher_composition.components.cache_clear()


def test_a_flood_of_tests_to_slow_endpoints_does_not_delay_another_tenant(fleet: Fleet) -> None:
    # Given mallory's three endpoints that accept and never answer, flooded with 15 test sends
    slow = [fleet.subscribe("mallory", f"{SLOW}/{n}") for n in range(3)]
    service = fleet.service()
    for _ in range(5):
        for subscription in slow:
            service.send_test("mallory", subscription.webhook_id)
    # and alice's endpoint, which answers at once
    alices = fleet.subscribe("alice", "/alice")
    # When one dispatcher instance takes a batch of the flood and gets stuck on a slow endpoint
    first = threading.Thread(target=fleet.invoke, daemon=True)
    first.start()
    assert fleet.endpoints.slow_entered.wait(STUCK_SECONDS)
    # and alice's image finishes while that attempt still hangs; the other instance works through the queue
    fleet.stacks.sqs.send_message(QueueUrl=fleet.queue_url, MessageBody=json.dumps(image_event()))
    for _ in range(10):
        if fleet.endpoints.fast or fleet.invoke() == 0:
            break
    # Then alice's endpoint got her event while mallory's attempt was still hanging: it waited on nothing
    # of mallory's (no slow attempt had finished, and no more than mallory's share of one was in flight)
    assert [url for url, _, _ in fleet.endpoints.fast] == [alices.url]
    [(_, in_flight, finished_before)] = fleet.endpoints.fast
    assert (in_flight, finished_before) == (1, 0)
    assert fleet.endpoints.most_slow_at_once == 1
    assert fleet.endpoints.slow_started == 1
    # and the rest of the flood was put back to wait (not attempted, nothing recorded, nothing dead-lettered)
    assert all(len(fleet.table.list_deliveries(s.webhook_id, 100, None).items) == 5 for s in slow)
    attempted = [d for s in slow for d in fleet.table.list_deliveries(s.webhook_id, 100, None).items if d["attempts"]]
    assert attempted == []  # the one in flight is recorded when it ends
    fleet.endpoints.release.set()
    first.join(STUCK_SECONDS)
    assert not first.is_alive()


# ----- the breaker and the leases, with a clock


class Queue:
    def __init__(self) -> None:
        self.jobs: list[DeliveryJob] = []

    def enqueue(self, jobs: list[DeliveryJob], now: float) -> None:
        self.jobs += jobs

    def dead_letter(self, job: DeliveryJob) -> None:
        raise AssertionError("nothing goes to the dead-letter queue here")


class Script:
    """Answers from a list (a status, or a failure class), counting the posts."""

    def __init__(self) -> None:
        self.answers: list[int | Failure] = []
        self.posts = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        self.posts += 1
        answer = self.answers.pop(0)
        return EndpointAnswer.failed(answer, 1) if isinstance(answer, Failure) else EndpointAnswer(answer, 1)


@dataclass
class Clocked:
    stacks: LocalStacks
    table: WebhookStore
    flows: FlowControl
    dispatcher: Dispatcher
    transport: Script
    queue: Queue
    subscription: Subscription
    now: list[float]

    def deliver(self, n: int = 1) -> str:
        job = DeliveryJob(self.subscription.webhook_id, f"msg_{n}", f"DELIVERY#t#msg_{n}", "webhook.test", "{}", 0.0)
        return self.dispatcher.deliver(job)


SETTINGS = FairnessSettings(
    endpoint_concurrency=2, owner_share=2, lease_seconds=20, breaker_failures=3, breaker_open_seconds=60
)


@pytest.fixture
def clocked(dev_synth: Synthesized) -> Iterator[Clocked]:
    with mock_aws():
        stacks = provision_for(dev_synth, DISPATCHER_HANDLER)
        table = WebhookStore(stacks.dynamodb, stacks.environment(DISPATCHER_HANDLER)["WEBHOOKS_TABLE_NAME"])
        subscription = (
            stacks.webhook_service(DISPATCHER_HANDLER)
            .create("alice", "http://127.0.0.1:9/hook", ["image.analyzed"])
            .subscription
        )
        now = [1_800_000_000.0]

        def sleep(seconds: float) -> None:
            now[0] += seconds

        flows = FlowControl(
            store=table, settings=SETTINGS, uniform=lambda low, high: low, clock=lambda: now[0], sleep=sleep
        )
        transport, queue = Script(), Queue()
        service = Dispatcher(
            repository=table,
            queue=queue,
            transport=transport,
            settings=DispatchSettings(),
            secrets=KmsSecrets(
                stacks.clients["kms"], stacks.environment(DISPATCHER_HANDLER)["WEBHOOK_SECRETS_KEY_ARN"]
            ),
            flows=flows,
            clock=lambda: now[0],
            uniform=lambda low, high: 1.0,
        )
        yield Clocked(stacks, table, flows, service, transport, queue, subscription, now)


def test_the_breaker_opens_after_three_silent_failures_and_lets_one_probe_through(clocked: Clocked) -> None:
    # Given an endpoint that times out, is refused, and times out again
    clocked.transport.answers = [Failure.TIMEOUT, Failure.REFUSED, Failure.TIMEOUT]
    assert [clocked.deliver(n) for n in range(3)] == ["retry"] * 3
    # When the next job comes, Then the breaker is open: no POST, the job waits for the breaker (not an attempt)
    assert clocked.deliver(3) == "deferred: breaker_open"
    assert clocked.transport.posts == 3
    [*_, deferred] = clocked.queue.jobs
    assert (deferred.attempt, deferred.not_before) == (1, clocked.now[0] + 60 + 1)
    # When the open time is over, one probe goes through (half-open) and another job meanwhile waits
    clocked.now[0] += 61
    lease = clocked.flows.admit(clocked.subscription, clocked.now[0])
    assert not hasattr(lease, "reason")
    assert clocked.deliver(4) == "deferred: breaker_probing"
    clocked.flows.release(lease, Failure.TIMEOUT, None, clocked.now[0])  # type: ignore[arg-type]
    # A failed probe opens it again, for twice as long
    assert clocked.table.flow_state(FlowScope("endpoint", clocked.subscription.webhook_id)).open_until == (
        clocked.now[0] + 120
    )
    # When the endpoint answers the next probe, the breaker closes and both slots are open again
    clocked.now[0] += 121
    clocked.transport.answers = [503, 204, 204]
    assert clocked.deliver(5) == "retry"
    state = clocked.table.flow_state(FlowScope("endpoint", clocked.subscription.webhook_id))
    assert (state.failures, state.open_until, state.leases) == (0, None, {})
    assert [clocked.deliver(n) for n in (6, 7)] == ["delivered", "delivered"]


def test_enable_closes_an_open_breaker(clocked: Clocked) -> None:
    # Given an endpoint whose breaker is open
    clocked.transport.answers = [Failure.TIMEOUT] * 3
    for n in range(3):
        clocked.deliver(n)
    assert clocked.deliver(3) == "deferred: breaker_open"
    # When its owner enables it (POST /webhooks/{id}/enable: the API's service, sharing only the table)
    enabled = clocked.stacks.webhook_service(DISPATCHER_HANDLER).enable("alice", clocked.subscription.webhook_id)
    # Then the breaker is closed and the next job is attempted at once
    assert enabled.active
    clocked.transport.answers = [204]
    assert clocked.deliver(4) == "delivered"


def test_a_slot_held_by_a_crashed_instance_frees_itself_when_its_lease_expires(clocked: Clocked) -> None:
    # Given both of the endpoint's slots taken by attempts whose instance then died (never released)
    held = [clocked.flows.admit(clocked.subscription, clocked.now[0]) for _ in range(2)]
    assert all(not hasattr(lease, "reason") for lease in held)
    # When another job comes, Then it waits for them (here, polling for up to a second, since they began
    # just now and may be quick; then in the queue) until the leases run out (time limit plus a margin)
    started = clocked.now[0]
    assert clocked.deliver(1) == "deferred: endpoint_busy"
    assert clocked.now[0] - started == pytest.approx(SETTINGS.patience_seconds)
    # (it comes back when the first of those leases runs out: they are slow, no use asking every second)
    [deferred] = clocked.queue.jobs
    assert deferred.not_before == pytest.approx(started + SETTINGS.lease_seconds + SETTINGS.defer_min_seconds)
    clocked.now[0] += SETTINGS.lease_seconds + 0.001
    clocked.transport.answers = [204]
    assert clocked.deliver(2) == "delivered"


def test_nobody_waits_in_place_behind_an_endpoint_that_got_no_answer(clocked: Clocked) -> None:
    now = clocked.now

    def sleep(seconds: float) -> None:
        now[0] += seconds

    one_slot = dataclasses.replace(SETTINGS, owner_share=1)
    flows = FlowControl(
        store=clocked.table, settings=one_slot, uniform=lambda low, high: low, clock=lambda: now[0], sleep=sleep
    )
    # Given alice's endpoint whose last attempt timed out, and a new attempt to it in flight (her one slot)
    first = flows.admit(clocked.subscription, now[0])
    assert isinstance(first, Lease)
    flows.release(first, Failure.TIMEOUT, None, now[0])
    assert isinstance(flows.admit(clocked.subscription, now[0]), Lease)
    # When a job for her other endpoint comes a moment later
    other = (
        clocked.stacks.webhook_service(DISPATCHER_HANDLER)
        .create("alice", "http://127.0.0.1:9/other", ["image.analyzed"])
        .subscription
    )
    started = now[0]
    deferral = flows.admit(other, started)
    # Then it does not poll for the slot (that attempt may hang for its whole time limit): it goes back to the
    # queue until the lease runs out
    assert isinstance(deferral, Deferral)
    assert (deferral.reason, now[0]) == ("owner_busy", started)
    assert deferral.until == started + SETTINGS.lease_seconds + SETTINGS.defer_min_seconds


def test_a_job_waits_in_place_only_behind_its_own_instance(clocked: Clocked) -> None:
    now = clocked.now
    sleeps: list[str] = []
    one_slot = dataclasses.replace(SETTINGS, owner_share=1)

    def instance(name: str) -> FlowControl:
        def sleep(seconds: float) -> None:
            sleeps.append(name)
            now[0] += seconds

        return FlowControl(
            store=clocked.table, settings=one_slot, uniform=lambda low, high: low, clock=lambda: now[0], sleep=sleep
        )

    first, second = instance("first"), instance("second")
    other = (
        clocked.stacks.webhook_service(DISPATCHER_HANDLER)
        .create("alice", "http://127.0.0.1:9/other", ["image.analyzed"])
        .subscription
    )
    # Given alice's one slot taken a moment ago by an attempt on the first instance (an endpoint never seen
    # failing: the attempt may well be quick)
    assert isinstance(first.admit(clocked.subscription, now[0]), Lease)
    # When the second instance receives a job of hers, Then it waits in place only briefly (its whole batch
    # waits with it: one owner's flood would hold two instances), then goes back to the queue for a moment
    started = now[0]
    deferral = second.admit(other, started)
    assert isinstance(deferral, Deferral)
    assert (deferral.reason, deferral.until - now[0]) == ("owner_busy", one_slot.defer_min_seconds)
    assert set(sleeps) == {"second"}
    assert now[0] - started == pytest.approx(one_slot.foreign_patience_seconds, abs=one_slot.poll_seconds)
    # And the first instance, which waits on her attempt anyway, waits for that slot up to the whole patience
    sleeps.clear()
    assert isinstance(first.admit(other, started), Deferral)
    assert set(sleeps) == {"first"}
    assert now[0] - started == pytest.approx(one_slot.patience_seconds, abs=one_slot.poll_seconds)


def test_a_flood_for_a_slow_owner_costs_one_read_of_the_store_not_one_per_job(clocked: Clocked) -> None:
    now = clocked.now
    reads: list[FlowScope] = []

    class CountingStore:
        """The table, counting the reads of flow state."""

        def __getattr__(self, name: str) -> object:
            return getattr(clocked.table, name)

        def flow_state(self, scope: FlowScope) -> object:
            reads.append(scope)
            return clocked.table.flow_state(scope)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    one_slot = dataclasses.replace(SETTINGS, owner_share=1)
    flows = FlowControl(
        store=CountingStore(),  # type: ignore[arg-type]
        settings=one_slot,
        uniform=lambda low, high: low,
        clock=lambda: now[0],
        sleep=sleep,
    )
    service = clocked.stacks.webhook_service(DISPATCHER_HANDLER)
    others = [service.create("alice", f"http://127.0.0.1:9/o{n}", ["image.analyzed"]).subscription for n in range(3)]
    # Given alice's one slot held for two seconds already by an attempt (a slow endpoint)
    lease = flows.admit(clocked.subscription, now[0])
    assert isinstance(lease, Lease)
    now[0] += 2
    # When jobs for her other endpoints come one after the other
    reads.clear()
    deferrals = [flows.admit(other, now[0]) for other in others]
    # Then each goes back to the queue until her lease runs out, and only the first read the store
    assert {(d.reason, d.until) for d in deferrals if isinstance(d, Deferral)} == {
        ("owner_busy", now[0] - 2 + one_slot.lease_seconds + one_slot.defer_min_seconds)
    }
    assert len(reads) == 2  # the first job's endpoint and owner
    # And once this instance has freed her slot, or the verdict is a second old, the store is read again
    flows.release(lease, None, 204, now[0])
    assert isinstance(flows.admit(others[0], now[0]), Lease)
    assert len(reads) == 4
    now[0] += 2
    reads.clear()
    assert isinstance(flows.admit(others[1], now[0]), Deferral)
    assert isinstance(flows.admit(others[2], now[0]), Deferral)
    now[0] += one_slot.remember_seconds
    assert isinstance(flows.admit(others[2], now[0]), Deferral)
    assert len(reads) == 4  # the first and the third read both scopes; the second read none


def test_jobs_of_an_owner_found_busy_a_moment_ago_go_back_together_without_a_read(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[list[str]] = []
    looked_up: list[str] = []
    enqueue, get_subscription = SqsJobQueue.enqueue, WebhookStore.get_subscription

    def counted_enqueue(self: SqsJobQueue, jobs: list[DeliveryJob], now: float) -> None:
        queued.append([job.webhook_id for job in jobs])
        enqueue(self, jobs, now)

    def counted_lookup(self: WebhookStore, webhook_id: str) -> Subscription | None:
        looked_up.append(webhook_id)
        return get_subscription(self, webhook_id)

    monkeypatch.setattr(SqsJobQueue, "enqueue", counted_enqueue)
    monkeypatch.setattr(WebhookStore, "get_subscription", counted_lookup)
    # Given mallory's one slot held for five seconds already by another instance's attempt (a slow endpoint)
    mallorys = fleet.subscribe("mallory", f"{SLOW}/1")
    now = time.time()
    assert fleet.table.take_slot(FlowScope("owner", "mallory"), 0, "another-instance", now - 5, now + 15, None)
    # and this instance, having just put one of her jobs back for that reason
    service = fleet.service()
    service.send_test("mallory", mallorys.webhook_id)
    assert fleet.invoke() == 1
    # When a batch brings nine more of her jobs and bob's image event
    for _ in range(9):
        _one_test_job(fleet, mallorys)
    bobs = fleet.subscribe("bob", "/bob")
    fleet.stacks.sqs.send_message(QueueUrl=fleet.queue_url, MessageBody=json.dumps(image_event(owner="bob")))
    queued.clear()
    looked_up.clear()
    assert fleet.invoke() == 10
    # Then her nine jobs went back to the queue in one write, without reading her subscription or slots
    assert [mallorys.webhook_id] * 9 in queued
    assert mallorys.webhook_id not in looked_up
    # and bob's event was fanned out as usual; his delivery follows at once, owing nothing to hers
    while fleet.invoke():
        if fleet.endpoints.fast:
            break
    assert [url for url, _, _ in fleet.endpoints.fast] == [bobs.url]
    assert fleet.endpoints.slow_started == 0


def _one_test_job(fleet: Fleet, subscription: Subscription) -> None:
    """Queues one delivery job to ``subscription`` as a test send does (the API's per-minute limit aside)."""
    service = fleet.stacks.webhook_service(DISPATCHER_HANDLER, test_sends_per_minute=100)
    service.send_test(subscription.owner, subscription.webhook_id)
