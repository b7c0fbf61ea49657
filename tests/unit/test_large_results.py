"""Results too large for an event: a document written by the worker, a fresh link minted by each attempt."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from image_pipeline.events.domain.events import MAX_EVENT_BYTES, build_event
from image_pipeline.results.domain.documents import ResultsRef, results_key
from image_pipeline.results.domain.records import ImageRecord, Status
from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.webhooks.domain.dispatch import Dispatcher, DispatchSettings, iso
from image_pipeline.webhooks.domain.model import DeliveryJob
from image_pipeline.webhooks.domain.ports import EndpointAnswer
from image_pipeline.webhooks.domain.schedule import RetrySchedule
from image_pipeline.webhooks.domain.signing import webhook_headers
from tests.support.fake_secrets import FakeSeal
from tests.unit.test_webhook_dispatch import NOW, SUBSCRIPTION, Clock, FakeSqs, Repository

SECRET = "whsec_" + "A" * 43 + "="
LARGE = {"labels": [{"name": f"Label {i:05d}", "confidence": 99.0, "parents": ["x" * 40]} for i in range(4000)]}
SMALL = {"labels": [{"name": "Cat", "confidence": 98.2}]}


def record(results: dict[str, Any]) -> ImageRecord:
    return ImageRecord(
        image_id="img-1",
        owner="alice",
        status=Status.COMPLETED,
        created_at="2026-11-22T01:00:00.000Z",
        updated_at="2026-11-22T01:00:00.000Z",
        object={"bucket": "images", "key": "uploads/alice/img-1.jpg", "etag": "e", "versionId": None},
        object_identity="images/uploads/alice/img-1.jpg#e",
        features=("labels",),
        results=results,
    )


class Documents:
    def __init__(self) -> None:
        self.stored: dict[str, str] = {}

    def put(self, owner: str, image_id: str, results: dict[str, Any]) -> ResultsRef:
        key = results_key(owner, image_id)
        self.stored[key] = json.dumps(results)
        return ResultsRef(key=key, version_id=f"v{len(self.stored)}")


def test_a_result_too_large_for_the_event_is_written_and_referenced_never_linked() -> None:
    # Given a result well over 200 KiB
    documents = Documents()
    # When its event is built
    event = build_event(record(LARGE), documents)
    # Then the full result is written under the owner's and image's key, and the event names it (no URL)
    assert len(json.dumps(event)) < MAX_EVENT_BYTES
    assert json.loads(documents.stored["results/alice/img-1.json"]) == LARGE
    assert event["data"]["resultsOmitted"] is True
    assert event["data"]["resultsRef"] == {"key": "results/alice/img-1.json", "versionId": "v1"}
    assert "results" not in event["data"]
    assert "http" not in json.dumps(event)


def test_a_result_that_fits_travels_in_the_event_and_writes_nothing() -> None:
    documents = Documents()
    event = build_event(record(SMALL), documents)
    assert event["data"]["results"] == SMALL
    assert "resultsRef" not in event["data"]
    assert documents.stored == {}


@dataclass
class Links:
    """Presigns like S3 does: the URL names the key, version and the time it was signed."""

    clock: Clock
    made: list[tuple[str, str | None, int]] = field(default_factory=list)

    def presign_display(self, *, key: str, version_id: str | None, expires_in: int) -> str:
        self.made.append((key, version_id, expires_in))
        return f"https://images.s3.example/{key}?versionId={version_id}&X-Amz-Date={self.clock.now:.0f}&X-Amz-Expires={expires_in}"


class Recorder:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.sent: list[tuple[bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        self.sent.append((body, headers))
        return EndpointAnswer(self.statuses.pop(0), 3)


def test_every_attempt_carries_a_fresh_link_in_a_body_signed_as_sent() -> None:
    # Given an event whose results are in a document, and an endpoint that is down for the first attempt
    clock, sqs, repository = Clock(), FakeSqs(), Repository(SUBSCRIPTION)
    links, endpoint = Links(clock), Recorder([503, 200])
    dispatcher = Dispatcher(
        repository=repository,  # type: ignore[arg-type]
        queue=SqsJobQueue(sqs, "dispatch", "dead-letters"),
        transport=endpoint,
        settings=DispatchSettings(schedule=RetrySchedule(max_attempts=12), results_url_seconds=900),
        secrets=FakeSeal(),
        clock=clock,
        uniform=lambda low, high: 1.0,
        links=links,
    )
    event = {**build_event(record(LARGE), Documents()), "id": "e1"}
    dispatcher.fan_out(event)
    job = DeliveryJob.from_message(json.loads(sqs.sent[-1]["MessageBody"]))
    # When the first attempt fails and the retry comes hours later
    dispatcher.deliver(job)
    retry = DeliveryJob.from_message(json.loads(sqs.sent[-1]["MessageBody"]))
    clock.now = retry.not_before + 3 * 3600
    dispatcher.deliver(retry)
    # Then each attempt sent a link minted at its own time, valid for the configured time, to the same version
    first, second = (json.loads(body) for body, _ in endpoint.sent)
    assert links.made == [("results/alice/img-1.json", "v1", 900)] * 2
    assert first["data"]["resultsUrl"] != second["data"]["resultsUrl"]
    assert first["data"]["resultsUrlExpiresAt"] == iso(NOW + 900)
    assert second["data"]["resultsUrlExpiresAt"] == iso(clock.now + 900)
    for payload in (first, second):
        assert payload["data"]["resultsOmitted"] is True
        assert "resultsRef" not in payload["data"]
        assert "owner" not in payload["data"]
    # and each body is signed as it was sent (the same webhook-id: receivers dedupe on it)
    for body, headers in endpoint.sent:
        timestamp = int(headers["webhook-timestamp"])
        assert headers == webhook_headers([SECRET], job.message_id, timestamp, body.decode())


def test_the_reference_survives_the_queue_and_the_delivery_record() -> None:
    # Given a job of a large result, What the queue carries and what resend reads back keep its reference
    ref = ResultsRef(key="results/alice/img-1.json", version_id="3HL4kqtJ")
    job = DeliveryJob("wh_1", "msg_1", "DELIVERY#t#msg_1", "image.analyzed", "{}", NOW, results=ref)
    assert DeliveryJob.from_message(json.loads(job.to_message())).results == ref
    assert ResultsRef.from_document(ref.document()) == ref
    # and a reference outside the results prefix is never signed for
    assert ResultsRef.from_document({"key": "uploads/alice/img-1.jpg"}) is None
