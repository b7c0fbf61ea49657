"""Fan-out of domain events to subscriptions, and one delivery attempt at a time with its follow-up.

Every event becomes one delivery job per endpoint on the dispatch queue, so a slow or failing endpoint
never holds back another. A job makes one attempt; when it is to be retried, the job goes back to the
queue due at the time the retry schedule says (SQS delays it up to 15 minutes at a time; a job that
comes back early is delayed again). After the last attempt the job goes to the dead-letter queue.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from image_pipeline.results.domain.documents import ResultsRef
from image_pipeline.shared.telemetry import count, count_by, count_now, logger
from image_pipeline.webhooks.domain.fairness import Deferral, FlowControl, Unbounded
from image_pipeline.webhooks.domain.model import (
    ENDPOINTS_DISABLED_METRIC,
    ENVIRONMENT_WEBHOOK_ID,
    AttemptOutcome,
    AttemptRecord,
    DeliveryJob,
    DeliveryStatus,
    Failure,
    Subscription,
    classify,
    is_job,
    response_excerpt,
)
from image_pipeline.webhooks.domain.payload import (
    image_payload,
    is_image_event,
    platform_payload,
    serialise,
    webhook_disabled_event,
    with_results_link,
)
from image_pipeline.webhooks.domain.ports import EndpointAnswer, JobQueue, ObjectLinks, Transport, WebhookRepository
from image_pipeline.webhooks.domain.schedule import RetrySchedule, parse_retry_after
from image_pipeline.webhooks.domain.secrets import SecretOpener, signing_secrets
from image_pipeline.webhooks.domain.signing import message_id, webhook_headers
from image_pipeline.webhooks.domain.targets import TargetRefused, TargetUnresolved

# A delivery record this old without any attempt was left by a fan-out that died before sending its job
# (longer than the dispatcher's timeout): a redelivery of the event sends the job again.
ABANDONED_AFTER_SECONDS = 120.0
# A job received this much before it is due is put back to wait (SQS delays are whole seconds).
_EARLY_TOLERANCE_SECONDS = 1.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivery_key(event_time: str, msg_id: str) -> str:
    """Sorts an endpoint's deliveries by event time. Both parts are stable for one event (its time is when
    its outcome was recorded, ``msg_id`` derives from its id), so duplicates and re-publishes share the key
    and the conditional write of the record starts one chain of attempts, never a second."""
    return f"DELIVERY#{event_time}#{msg_id}"


@dataclass(frozen=True)
class DispatchSettings:
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    # An endpoint whose every attempt failed for this long is disabled.
    disable_after_seconds: float = 5 * 24 * 3600
    # Delivery records (and their attempts) are kept this long.
    delivery_retention_seconds: int = 30 * 24 * 3600
    # How long the link to a result too large for the event is valid, from the attempt that carries it.
    results_url_seconds: int = 3600


class FixedEndpoints(Protocol):
    def subscription(self) -> Subscription | None:
        """The environment's own endpoint from its config, or None when it names none."""
        ...


class NoFixedEndpoint:
    def subscription(self) -> Subscription | None:
        return None


class DeliveryQueue:
    """Registers deliveries (one record per event and endpoint) and queues their first attempt."""

    def __init__(
        self,
        *,
        repository: WebhookRepository,
        queue: JobQueue,
        settings: DispatchSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repository = repository
        self._queue = queue
        self._settings = settings
        self._clock = clock

    def queue(self, subscriptions: list[Subscription], event: dict[str, Any], body: str) -> list[DeliveryJob]:
        jobs = [self._job(s, event, body) for s in subscriptions]
        jobs = [job for job in jobs if self._register(job)]
        self._queue.enqueue(jobs, self._clock())
        return jobs

    def send_again(self, jobs: list[DeliveryJob]) -> None:
        """Resend or recover: the same webhook-id and body, from attempt 1 with a fresh retry window."""
        now = self._clock()
        for job in jobs:
            self._repository.reopen_delivery(job)
        self._queue.enqueue([job.restarted(now) for job in jobs], now)

    def _job(self, subscription: Subscription, event: dict[str, Any], body: str) -> DeliveryJob:
        msg_id = message_id(str(event["id"]), subscription.webhook_id)
        now = self._clock()
        return DeliveryJob(
            webhook_id=subscription.webhook_id,
            message_id=msg_id,
            delivery_key=delivery_key(str(event["time"]), msg_id),
            event_type=str(event["type"]),
            body=body,
            first_attempt_at=now,
            not_before=now,
            results=ResultsRef.from_document(event["data"].get("resultsRef")),
        )

    def _register(self, job: DeliveryJob) -> bool:
        """True when the job is to be sent: its record is new, or was left without any attempt by a fan-out
        that stopped between writing the record and sending the job (so long ago that it cannot still be
        running). A duplicate of an event arriving meanwhile finds the record and sends nothing."""
        now = self._clock()
        expires = int(now + self._settings.delivery_retention_seconds)
        if self._repository.create_delivery(job, iso(now), expires):
            return True
        state = self._repository.delivery_state(job.webhook_id, job.delivery_key)
        return state is not None and state.attempts == 0 and now - state.created_at >= ABANDONED_AFTER_SECONDS


class Dispatcher:
    def __init__(
        self,
        *,
        repository: WebhookRepository,
        queue: JobQueue,
        transport: Transport,
        settings: DispatchSettings,
        secrets: SecretOpener,
        fixed: FixedEndpoints | None = None,
        flows: FlowControl | Unbounded | None = None,
        links: ObjectLinks | None = None,
        clock: Callable[[], float] = time.time,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._repository = repository
        self._queue = queue
        self._transport = transport
        self._settings = settings
        self._secrets = secrets
        self._fixed = fixed or NoFixedEndpoint()
        self._flows = flows or Unbounded()
        self._links = links
        self._deliveries = DeliveryQueue(repository=repository, queue=queue, settings=settings, clock=clock)
        self._clock = clock
        self._uniform = uniform

    # ----- what arrives on the dispatch queue

    def handle(self, message: dict[str, Any]) -> str:
        """One message of the dispatch queue: an image event to fan out, or a delivery job to attempt."""
        if is_job(message):
            return self.deliver(DeliveryJob.from_message(message))
        if is_image_event(message):
            return f"fanned out to {self.fan_out(message)}"
        logger.warning("Ignored a message that is neither an image event nor a delivery job")
        return "ignored"

    def put_back_remembered(self, messages: list[dict[str, Any]]) -> set[int]:
        """Puts back, in one queue write, the due delivery jobs whose endpoint or owner this instance found busy
        less than a second ago (a flood of one owner's jobs to slow endpoints costs one write per ten, and no
        read); returns their positions. The others go through ``handle`` as usual."""
        now = self._clock()
        put_back: dict[int, DeliveryJob] = {}
        for position, message in enumerate(messages):
            if not is_job(message):
                continue
            job = DeliveryJob.from_message(message)
            if job.not_before > now + _EARLY_TOLERANCE_SECONDS:
                continue
            deferral = self._flows.remembered_for(job.webhook_id, now)
            if deferral is not None:
                put_back[position] = job.deferred(deferral.until)
                count_by("WebhookDeferrals", "reason", deferral.reason)
        if put_back:
            self._queue.enqueue(list(put_back.values()), now)
        return set(put_back)

    # ----- fan-out

    def fan_out(self, event: dict[str, Any]) -> int:
        """Queues one delivery per interested endpoint: the owner's subscriptions and the environment's endpoint."""
        owner = str(event["data"].get("owner", ""))
        subscriptions = [s for s in self._repository.list_subscriptions(owner) if s.active and s.wants(event["type"])]
        fixed = self._fixed.subscription()
        if fixed is not None and fixed.wants(event["type"]):
            subscriptions.append(fixed)
        body = serialise(image_payload(event))
        return len(self._deliveries.queue(subscriptions, event, body))

    # ----- delivery attempts

    def deliver(self, job: DeliveryJob) -> str:
        now = self._clock()
        if job.not_before > now + _EARLY_TOLERANCE_SECONDS:
            self._queue.enqueue([job], now)
            return "waiting"
        subscription = self._subscription(job.webhook_id)
        if subscription is None:
            return "dropped: the webhook was deleted"
        if not subscription.active:
            self._record(job, AttemptRecord(job.attempt, iso(now), AttemptOutcome.FAILED, 0, error="endpoint disabled"),
                         DeliveryStatus.FAILED)  # fmt: skip
            return "dropped: the endpoint is disabled"
        lease = self._flows.admit(subscription, now)
        now = self._clock()  # admission may have waited a moment for a slot
        if isinstance(lease, Deferral):
            # Not an attempt: the job comes back when a slot may be free (a new message, so it never
            # counts toward the queue's maxReceiveCount either).
            self._queue.enqueue([job.deferred(lease.until)], now)
            count_by("WebhookDeferrals", "reason", lease.reason)
            return f"deferred: {lease.reason}"
        answer, outcome = self._attempt(subscription, job, now)  # never raises
        try:
            self._flows.release(lease, answer.failure, answer.status, self._clock())
        except Exception:  # the leases expire by themselves; the attempt must still be recorded
            logger.exception("Could not free the delivery slots", extra={"webhook_id": job.webhook_id})
        attempt = AttemptRecord(
            attempt=job.attempt,
            at=iso(now),
            outcome=outcome,
            latency_ms=answer.latency_ms,
            status_code=answer.status,
            error=answer.error,
            response_excerpt=response_excerpt(answer.body_excerpt),
            failure=answer.failure,
        )
        count_by("WebhookAttempts", "outcome", outcome.value)
        logger.info(
            "Webhook attempt",
            extra={
                "webhook_id": job.webhook_id,
                "message_id": job.message_id,
                "attempt": job.attempt,
                "outcome": outcome.value,
                "status_code": answer.status,
                "failure": answer.failure.value if answer.failure else None,
                "latency_ms": answer.latency_ms,
            },
        )
        if outcome is AttemptOutcome.DELIVERED:
            self._record(job, attempt, DeliveryStatus.DELIVERED)
            if not subscription.fixed and subscription.failing_since is not None:
                self._repository.note_success(job.webhook_id)
            return outcome.value
        if outcome is AttemptOutcome.RETRY:
            self._retry_or_give_up(job, attempt, answer, now)
        else:
            self._record(job, attempt, DeliveryStatus.FAILED)
        if not subscription.fixed:
            self._track_health(subscription, outcome, answer, now)
        return outcome.value

    def _attempt(
        self, subscription: Subscription, job: DeliveryJob, now: float
    ) -> tuple[EndpointAnswer, AttemptOutcome]:
        """Whatever the endpoint (or the dispatcher) did, an answer to record: nothing here raises."""
        started = self._clock()
        try:
            timestamp = int(now)  # fresh per attempt; the id and the body stay the same
            keys = signing_secrets(subscription, now, self._secrets.open)
            body = self._body(job, now)
            headers = webhook_headers(keys, job.message_id, timestamp, body)
            answer = self._transport.post(subscription.url, body.encode(), headers)
            count("WebhookLatency", answer.latency_ms, unit="Milliseconds")  # attempts that reached the network
            return answer, classify(answer.status)
        except TargetUnresolved:
            return EndpointAnswer.failed(Failure.DNS, self._ms_since(started)), AttemptOutcome.RETRY
        except TargetRefused as refused:
            return EndpointAnswer.failed(
                Failure.BLOCKED, self._ms_since(started), refused.message
            ), AttemptOutcome.REFUSED
        except Exception:  # a bug or an answer nobody foresaw: recorded and retried, never lost in SQS
            logger.exception("Webhook attempt failed inside the dispatcher", extra={"webhook_id": job.webhook_id})
            return EndpointAnswer.failed(Failure.INTERNAL, self._ms_since(started)), AttemptOutcome.RETRY

    def _body(self, job: DeliveryJob, now: float) -> str:
        """The job's body; for a result too large for the event, with a link minted for this attempt."""
        if job.results is None or self._links is None:
            return job.body
        seconds = self._settings.results_url_seconds
        url = self._links.presign_display(key=job.results.key, version_id=job.results.version_id, expires_in=seconds)
        return with_results_link(job.body, url, iso(now + seconds))

    def _ms_since(self, started: float) -> int:
        return max(0, round((self._clock() - started) * 1000))

    def _retry_or_give_up(self, job: DeliveryJob, attempt: AttemptRecord, answer: EndpointAnswer, now: float) -> None:
        retry_after = parse_retry_after(answer.retry_after, now)
        delay = self._settings.schedule.next_delay(job.attempt, retry_after=retry_after, uniform=self._uniform)
        if delay is None:
            self._record(job, attempt, DeliveryStatus.FAILED)
            self._queue.dead_letter(job)
            count_by("WebhookDeliveriesDeadLettered", "reason", "retries_exhausted")
            return
        due = now + delay
        self._record(job, attempt, DeliveryStatus.RETRYING, next_attempt_at=iso(due))
        self._queue.enqueue([job.next(due)], now)

    def _track_health(
        self, subscription: Subscription, outcome: AttemptOutcome, answer: EndpointAnswer, now: float
    ) -> None:
        if outcome is AttemptOutcome.GONE:
            self._disable(subscription, "the endpoint answered 410 Gone", now)
            return
        since = self._repository.note_failure(subscription.webhook_id, now)
        if since is not None and now - since >= self._settings.disable_after_seconds:
            days = (now - since) / 86400
            reason = f"every attempt failed since {iso(since)} ({days:.1f} days); last: {answer.status or answer.error}"
            self._disable(subscription, reason, now)

    def _disable(self, subscription: Subscription, reason: str, now: float) -> None:
        """Disables the endpoint and, when this call did it, tells the owner: a metric the alarms watch and a
        ``webhook.disabled`` event to the owner's other active endpoints."""
        if not self._repository.disable(subscription.webhook_id, reason, iso(now)):
            return  # already disabled (a concurrent attempt got there first)
        count_now(ENDPOINTS_DISABLED_METRIC)
        logger.warning("Webhook endpoint disabled", extra={"webhook_id": subscription.webhook_id, "reason": reason})
        others = [
            s
            for s in self._repository.list_subscriptions(subscription.owner)
            if s.active and s.webhook_id != subscription.webhook_id
        ]
        event = webhook_disabled_event(subscription.webhook_id, subscription.url, reason, iso(now))
        self._deliveries.queue(others, event, serialise(platform_payload(event)))

    def _record(
        self, job: DeliveryJob, attempt: AttemptRecord, status: DeliveryStatus, next_attempt_at: str | None = None
    ) -> None:
        self._repository.record_attempt(job, attempt, status, next_attempt_at)

    def _subscription(self, webhook_id: str) -> Subscription | None:
        if webhook_id == ENVIRONMENT_WEBHOOK_ID:
            return self._fixed.subscription()
        return self._repository.get_subscription(webhook_id)
