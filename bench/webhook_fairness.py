"""Another tenant's delivery latency, alone and under a flood of slow endpoints, side by side in one run.

    PYTHONPATH=.:lambdas .venv/bin/python -m bench.webhook_fairness [--events 40] [--flood 80] [--without-fairness]

Everything runs in this process, on the real dispatcher handler: moto (in-process, one request at a time)
holds the webhooks table and the dispatch queue built from the synthesized dev templates, with the dev
dispatcher's settings (attempt time limit, endpoint bound, owner share, breaker). ``--instances`` pollers
(dev: 2, the event source's maximum concurrency) each feed the handler a batch of up to 10 and wait for
it, as one Lambda instance does; each has its own composition (as a process of its own would: its pool of 10
threads, the slot leases it holds, the verdicts it remembers), built before the phase starts (warm instances).

Bob's endpoint is the example receiver on loopback. Alone: bob's images finish one every 0.25 s and their
events go through the queue (fan-out, then the delivery job). Flooded: the same, while mallory has 5 webhooks
to a loopback server that accepts connections and never answers, and ``--flood`` test sends queued to them
(the API's per-webhook limit is lifted here, to measure the dispatcher alone). Latency: from the event
entering the queue to bob's receiver verifying it. ``--without-fairness`` adds a column with the bounds
and the breaker off (the dispatcher as it was). Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

import pytest
from moto import mock_aws

from bench.webhook_throughput import DISPATCHER_HANDLER, event
from image_pipeline.webhooks import composition as dispatcher_composition
from image_pipeline.webhooks import handler as dispatcher
from image_pipeline.webhooks.domain.dispatch import Dispatcher
from image_pipeline.webhooks.domain.fairness import Unbounded
from image_pipeline.webhooks.domain.model import DeliveryJob
from local.tools.webhook_receiver import WebhookReceiver
from tests.handlers.conftest import serialise_moto
from tests.support.lambda_sqs import feed_once
from tests.support.local_stacks import LocalStacks, provision_for
from tests.support.synth import Synthesized, synthesize

SLOW_WEBHOOKS = 5
EVENT_INTERVAL_SECONDS = 0.25


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    expected: int = 0
    slow_connections: int = 0
    seconds: float = 0.0
    bob_waits: int = 0  # bob's jobs that found no free slot (put back, or waiting in place too long)

    def cell(self, what: str) -> str:
        if what == "delivered":
            return f"{len(self.latencies)}/{self.expected}"
        if what == "slow":
            return str(self.slow_connections)
        if what == "seconds":
            return f"{self.seconds:.0f} s"
        if what == "waits":
            return str(self.bob_waits)
        if not self.latencies:
            return "-"
        ordered = sorted(self.latencies)
        value = {
            "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "max": ordered[-1],
        }[what]
        return f"{value:.2f} s"


class SilentServer:
    """Accepts every connection and never answers (each attempt to it runs into its time limit)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(connection)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:  # the attempts still waiting end now (connection reset)
            connection.close()
        self._listener.close()


@contextmanager
def fleet(synth: Synthesized, instances: int, fair: bool, outcomes: Counter[tuple[str, str]]) -> Iterator[LocalStacks]:
    """The dispatch queue and table in moto, and ``instances`` pollers running the real handler; ``outcomes``
    counts what each delivery job came to, per webhook."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        serialise_moto(patch)
        deliver = Dispatcher.deliver

        def counted(self: Dispatcher, job: DeliveryJob) -> str:
            outcome = deliver(self, job)
            outcomes[(job.webhook_id, outcome.split(":")[0])] += 1
            return outcome

        patch.setattr(Dispatcher, "deliver", counted)
        stacks = provision_for(synth, DISPATCHER_HANDLER)
        for name, value in stacks.environment(DISPATCHER_HANDLER).items():
            patch.setenv(name, value)
        patch.setenv("DELIVERY_CONCURRENCY", "10")  # threads per instance
        patch.setenv("POWERTOOLS_LOG_LEVEL", "CRITICAL")
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        if not fair:
            patch.setattr(dispatcher_composition, "FlowControl", lambda **_: Unbounded())
        dispatcher_composition.components.cache_clear()
        # Each poller is one Lambda instance: a process of its own, so its own composition (pool, slot
        # leases it holds, verdicts it remembers), built before the phase starts (a warm instance).
        instance = threading.local()
        build = dispatcher_composition.components.__wrapped__

        def own_components() -> dispatcher_composition.DispatcherComponents:
            if not hasattr(instance, "components"):
                instance.components = build()
            return cast(dispatcher_composition.DispatcherComponents, instance.components)

        patch.setattr(dispatcher, "components", own_components)
        done = threading.Event()
        ready = threading.Barrier(instances + 1)
        mapping = stacks.mapping(DISPATCHER_HANDLER)

        def poll() -> None:
            own_components()
            ready.wait()
            while not done.is_set():
                if feed_once(stacks.sqs, mapping.queue_url, dispatcher.handler, mapping.batch_size, 0).received == 0:
                    time.sleep(0.05)  # what a long poll's wake-up costs; keeps idle pollers off moto's lock

        pollers = [threading.Thread(target=poll, daemon=True) for _ in range(instances)]
        for thread in pollers:
            thread.start()
        ready.wait()
        try:
            yield stacks
        finally:
            done.set()
            for thread in pollers:
                thread.join(60)
            dispatcher_composition.components.cache_clear()


def image_event(number: int) -> dict[str, object]:
    """The throughput benchmark's event, for bob."""
    base = event(number)
    return {**base, "data": {**base["data"], "owner": "bob"}}  # type: ignore[dict-item]


def run_phase(synth: Synthesized, name: str, *, events: int, flood: int, instances: int, fair: bool) -> Phase:
    phase = Phase(name, expected=events)
    silent = SilentServer() if flood else None
    outcomes: Counter[tuple[str, str]] = Counter()
    started = time.monotonic()
    try:
        with WebhookReceiver() as receiver, fleet(synth, instances, fair, outcomes) as stacks:
            queue_url = stacks.mapping(DISPATCHER_HANDLER).queue_url
            bobs = stacks.webhook_service(DISPATCHER_HANDLER).create("bob", receiver.url, ["image.analyzed"])
            receiver.trust(bobs.secret)
            if silent is not None:
                service = stacks.webhook_service(DISPATCHER_HANDLER, test_sends_per_minute=flood)
                slow = [
                    service.create("mallory", f"http://127.0.0.1:{silent.port}/slow/{n}", ["image.analyzed"])
                    for n in range(SLOW_WEBHOOKS)
                ]
                for n in range(flood):
                    service.send_test("mallory", slow[n % SLOW_WEBHOOKS].subscription.webhook_id)
            published: dict[str, float] = {}
            for number in range(events):
                event = image_event(number)
                published[f"img-{number}"] = time.time()
                stacks.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
                time.sleep(EVENT_INTERVAL_SECONDS)
            receiver.wait_for(events, timeout=300)
            phase.latencies = [
                e.received_at - published[e.payload["data"]["imageId"]]
                for e in receiver.events
                if e.payload["data"]["imageId"] in published
            ]
            phase.bob_waits = outcomes[(bobs.subscription.webhook_id, "deferred")]
            if silent is not None:
                phase.slow_connections = silent.accepted
                silent.close()  # before the pollers stop: the attempts still waiting on it end at once
    finally:
        if silent is not None:
            silent.close()
    phase.seconds = time.monotonic() - started
    return phase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40, help="bob's events per phase")
    parser.add_argument("--flood", type=int, default=80, help="test sends to mallory's silent endpoints")
    parser.add_argument("--instances", type=int, default=2, help="dispatcher instances (dev: 2)")
    parser.add_argument("--without-fairness", action="store_true", help="add a column with the bounds off")
    args = parser.parse_args(argv)
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench"}.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    synth = synthesize("dev")
    common = {"events": args.events, "instances": args.instances}
    phases = [
        run_phase(synth, "alone", flood=0, fair=True, **common),
        run_phase(synth, "flooded", flood=args.flood, fair=True, **common),
    ]
    if args.without_fairness:
        phases.append(run_phase(synth, "flooded, no bounds", flood=args.flood, fair=False, **common))
    rows = [
        ("bob's deliveries", "delivered"),
        ("p50 latency", "p50"),
        ("p99 latency", "p99"),
        ("max latency", "max"),
        ("bob's jobs put back to wait for a slot", "waits"),
        ("connections to the silent server", "slow"),
        ("phase took", "seconds"),
    ]
    print(
        f"bob's delivery latency, {args.events} events {EVENT_INTERVAL_SECONDS:g} s apart; flood: {SLOW_WEBHOOKS} "
        f"webhooks of mallory's to a server that never answers, {args.flood} test sends; {args.instances} instances"
    )
    widths = [40] + [max(12, len(p.name) + 2) for p in phases]
    print("".join(h.ljust(w) for h, w in zip(["", *[p.name for p in phases]], widths, strict=True)))
    for label, what in rows:
        print("".join(c.ljust(w) for c, w in zip([label, *[p.cell(what) for p in phases]], widths, strict=True)))
    return 0 if all(len(p.latencies) == p.expected for p in phases) else 1


if __name__ == "__main__":
    sys.exit(main())
