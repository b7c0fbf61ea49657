"""Dispatch throughput to one local receiver: image events in, verified webhooks out, events per second.

    PYTHONPATH=.:lambdas .venv/bin/python -m bench.webhook_throughput [--events 300] [--pollers 1] [--threads 10]

Everything runs in this process: moto (in-process) holds the webhooks table and the dispatch queue,
created from the synthesized dev templates by the local mode's provisioners; a poller feeds the real
dispatcher handler batches of 10 as Lambda's event source mapping would (more than one poller in one
process shares the handler's batch processor, which Lambda never does: keep 1); one subscription points
at the example receiver on loopback, which verifies every signature with ``standardwebhooks`` and
dedupes by id. Each event takes two hops through the queue (fan-out, then the delivery job); in-process
moto's CPU cost dominates that figure. A second figure times the delivery attempts alone (sign, POST to
the checked address, verify, dedupe, record in memory) on ``--threads`` threads, what one invocation's
pool does.
Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from moto import mock_aws

from image_pipeline.webhooks import composition as dispatcher_composition
from image_pipeline.webhooks import handler as dispatcher
from image_pipeline.webhooks.adapters.transport import SafeTransport
from image_pipeline.webhooks.domain.dispatch import Dispatcher, DispatchSettings
from image_pipeline.webhooks.domain.model import DeliveryJob, SigningSecret, Subscription
from image_pipeline.webhooks.domain.payload import image_payload, serialise
from image_pipeline.webhooks.domain.signing import generate_secret
from image_pipeline.webhooks.domain.targets import TargetPolicy
from local.functions.environment import LOCAL_SETTINGS
from local.tools.webhook_receiver import WebhookReceiver
from tests.support.lambda_sqs import feed_once
from tests.support.local_stacks import provision_for
from tests.support.synth import synthesize

DISPATCHER_HANDLER = "image_pipeline.handlers.dispatcher.handler"


def event(number: int) -> dict[str, object]:
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "type": "image.analyzed",
        "version": "1",
        "source": "image-pipeline",
        "time": "2026-11-22T01:00:00.000Z",
        "data": {
            "imageId": f"img-{number}",
            "owner": "bench",
            "status": "COMPLETED",
            "features": ["labels", "text"],
            "results": {"labels": [{"name": "Cat", "confidence": 98.2}], "text": {"lines": [], "words": []}},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--pollers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=10)
    args = parser.parse_args(argv)
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench"}.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    synth = synthesize("dev")
    with mock_aws(), WebhookReceiver() as receiver:
        stacks = provision_for(synth, DISPATCHER_HANDLER)
        os.environ.update(stacks.environment(DISPATCHER_HANDLER))
        queue_url, batch_size = (
            stacks.mapping(DISPATCHER_HANDLER).queue_url,
            stacks.mapping(DISPATCHER_HANDLER).batch_size,
        )
        dispatcher_composition.components.cache_clear()
        service = stacks.webhook_service(DISPATCHER_HANDLER)
        receiver.trust(service.create("bench", receiver.url, ["image.analyzed"]).secret)
        for start in range(0, args.events, 10):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(event(n))} for n in range(start, min(start + 10, args.events))
            ]
            stacks.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                feed_once(stacks.sqs, queue_url, dispatcher.handler, batch_size, wait_seconds=0)

        started = time.perf_counter()
        pollers = [threading.Thread(target=poll, daemon=True) for _ in range(args.pollers)]
        for thread in pollers:
            thread.start()
        complete = receiver.wait_for(args.events, timeout=600)
        elapsed = time.perf_counter() - started
        done.set()
        for thread in pollers:
            thread.join(timeout=30)
    stats = receiver.stats
    print(
        f"{len(receiver.events)} of {args.events} events delivered in {elapsed:.1f} s with {args.pollers} pollers: "
        f"{len(receiver.events) / elapsed:.1f} events/s "
        f"(requests {stats.requests}, duplicates {stats.duplicates}, rejected {stats.rejected})"
    )
    attempts_per_second = delivery_attempts_only(args.events, args.threads)
    print(f"delivery attempts alone ({args.threads} threads): {attempts_per_second:.0f} events/s")
    return 0 if complete else 1


class _InMemory:
    """Just enough of the repository for delivery attempts: one subscription, attempts counted."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.recorded = 0
        self._lock = threading.Lock()

    def get_subscription(self, webhook_id: str) -> Subscription:
        return self.subscription

    def record_attempt(self, *args: object) -> None:
        with self._lock:
            self.recorded += 1


def delivery_attempts_only(count: int, threads: int) -> float:
    with WebhookReceiver() as receiver:
        secret = generate_secret()
        receiver.trust(secret)
        subscription = Subscription(
            webhook_id="wh_bench",
            owner="bench",
            url=receiver.url,
            events=("image.analyzed",),
            secrets=(SigningSecret(secret),),
            created_at="2026-11-22T00:00:00.000Z",
        )
        repository = _InMemory(subscription)
        service = Dispatcher(
            repository=repository,  # type: ignore[arg-type]
            queue=None,  # type: ignore[arg-type]
            transport=SafeTransport(
                TargetPolicy.of(allow_http=True, allowed_networks=LOCAL_SETTINGS["WEBHOOK_ALLOWED_NETWORKS"])
            ),
            settings=DispatchSettings(),
        )
        now = time.time()
        body = serialise(image_payload(event(0)))
        jobs = [
            DeliveryJob("wh_bench", f"msg_{n}", f"DELIVERY#{n}", "image.analyzed", body, now, 1, now)
            for n in range(count)
        ]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(service.deliver, jobs))
        elapsed = time.perf_counter() - started
        if outcomes.count("delivered") != count or len(receiver.events) != count:
            raise RuntimeError(f"only {len(receiver.events)} of {count} delivered")
        return count / elapsed


if __name__ == "__main__":
    sys.exit(main())
