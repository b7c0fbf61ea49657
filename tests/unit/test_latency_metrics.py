"""The latencies the dashboard graphs: EndToEndLatency (the worker) and WebhookLatency (the dispatcher)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from image_pipeline.recognition.domain.s3_events import parse_notification
from image_pipeline.shared.telemetry import metrics
from tests.unit import test_image_services as images
from tests.unit import test_webhook_dispatch as webhooks

analysis = images.analysis  # the fixture: ImageAnalysis with in-memory ports


@pytest.fixture
def emitted() -> Iterator[dict[str, Any]]:
    """The metrics the code added, by name (Powertools keeps them until the handler flushes them)."""
    metrics.clear_metrics()
    yield metrics.provider.metric_set
    metrics.clear_metrics()


def test_the_worker_emits_the_time_from_the_upload_event_to_the_stored_result(
    analysis: images.Analysis, emitted: dict[str, Any]
) -> None:
    # Given an upload whose S3 event says it was created 2.5 s ago
    ref = replace(images.upload(analysis, "img-1"), event_time=datetime.now(UTC) - timedelta(seconds=2.5))
    # When the worker stores its result
    analysis.service.process(ref)
    # Then one EndToEndLatency of at least 2.5 s (and not much more) is emitted, in milliseconds
    [latency] = emitted["EndToEndLatency"]["Value"]
    assert emitted["EndToEndLatency"]["Unit"] == "Milliseconds"
    assert 2500 <= latency < 60_000


def test_a_duplicate_delivery_emits_no_second_end_to_end_latency(
    analysis: images.Analysis, emitted: dict[str, Any]
) -> None:
    ref = replace(images.upload(analysis, "img-1"), event_time=datetime.now(UTC))
    analysis.service.process(ref)
    analysis.service.process(ref)
    assert len(emitted["EndToEndLatency"]["Value"]) == 1


def test_the_event_time_comes_from_the_s3_record() -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Post",
                    "eventTime": "2026-11-30T01:02:03.456Z",
                    "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": 1}},
                },
                {
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "yesterday",
                    "s3": {"bucket": {"name": "b"}, "object": {"key": "j"}},
                },
            ]
        }
    )
    first, unreadable = parse_notification(body)
    assert first.event_time == datetime(2026, 11, 30, 1, 2, 3, 456000, tzinfo=UTC)
    assert unreadable.event_time is None


def test_the_dispatcher_emits_the_latency_of_each_attempt_that_reached_the_endpoint(emitted: dict[str, Any]) -> None:
    # Given an endpoint that answers 500 in 3 ms
    dispatcher, *_ = webhooks._dispatcher(500)
    # When the dispatcher attempts a delivery
    dispatcher.deliver(webhooks._job(1, webhooks.NOW))
    # Then one WebhookLatency of those 3 ms is emitted
    assert emitted["WebhookLatency"] == {"Unit": "Milliseconds", "StorageResolution": 60, "Value": [3]}
