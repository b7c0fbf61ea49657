"""The prod config's flow control at its quota (50 TPS per operation), in one process, in real time.

The emulator on two cores cannot carry 50 images per second, so this runs the worker's own flow-control code
without AWS: each simulated Lambda instance has its own ``RateLimiter`` (all on one shared in-memory ledger
with the DynamoDB ledger's semantics), its own ``RekognitionRecognizer`` and ``ImageAnalysis``, and handles
each message with ``intake.receive`` exactly as the handler does (deferral, partial results, retries);
Rekognition is the double (bench/rekognition_double.py) in process; the queue is a list with delays,
visibility and maxReceiveCount; the table is a dict. Every instance polls like the SQS event source: up to
``batch_size`` messages, ``image_concurrency`` at a time.

``AFTER`` is the prod config's fleet as stacks/config.py sizes it; ``BEFORE`` the prod fleet before the sizing
rule (the same 50 x 10, a token wait of 10 s). ``UNLIMITED`` replaces the limiter by a gate that always opens,
keeps the concurrency caps of the code before the limiter (10 x 4) and fails the record back to the queue when
the retries run out.

One process stands for the whole fleet (50 instances: ~2,500 threads), so the machine's CPU can starve it: a
token taken in a slot is void if its thread does not get to call within that slot (half a second of the run's
time). ``slots_filled`` (tokens taken from the ledger) well above ``quota_used`` (calls made), with calls
waiting all along, is that starvation, not the flow control: run with a larger ``time_scale``.
"""

from __future__ import annotations

import heapq
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from botocore.exceptions import ClientError

from bench.rekognition_double import RekognitionDouble, Throttled
from image_pipeline.recognition.adapters.rekognition import RecognitionOptions, RekognitionRecognizer
from image_pipeline.recognition.domain.analysis import AnalysisSettings, ImageAnalysis
from image_pipeline.recognition.domain.features import Feature
from image_pipeline.recognition.domain.ports import ObjectInfo
from image_pipeline.recognition.domain.rate_limit import RateLimiter, SlotPlan
from image_pipeline.recognition.domain.s3_events import ObjectRef
from image_pipeline.recognition.intake import QueuedMessage, receive
from image_pipeline.results.domain.records import Status
from image_pipeline.shared.errors import RecognitionUnavailable
from tests.support.fake_ledger import InMemorySlotLedger
from tests.support.fake_rekognition import FEATURE_OPERATIONS
from tests.support.fake_results import FakeResults
from tests.support.images import image_bytes

FEATURES = ("labels", "text", "faces", "moderation")


@dataclass(frozen=True)
class FleetShape:
    instances: int  # the event source's MaximumConcurrency
    image_concurrency: int
    batch_size: int = 10
    limited: bool = True
    max_attempts: int = 8
    token_wait_seconds: float = 10.0
    max_receive_count: int = 5


def prod_fleet() -> FleetShape:
    from stacks.config import ENVIRONMENTS  # the CDK library loads only when asked

    prod = ENVIRONMENTS["prod"]
    return FleetShape(
        instances=prod.max_concurrency,
        image_concurrency=prod.image_concurrency,
        batch_size=prod.batch_size,
        max_attempts=prod.rekognition_max_attempts,
        token_wait_seconds=prod.rekognition_token_wait_seconds,
        max_receive_count=prod.max_receive_count,
    )


BEFORE = FleetShape(instances=50, image_concurrency=10, token_wait_seconds=10.0)
UNLIMITED = FleetShape(instances=10, image_concurrency=4, limited=False)


def warmup_for(median_seconds: float) -> float:
    """Long enough for the first wave (every instance's first batch at once) to be over: about five batches."""
    return max(3.0, 5 * median_seconds)


class DoubleClient:
    """What the recognizer calls: boto3's method names, the double behind them, ClientError on throttling."""

    def __init__(self, double: RekognitionDouble) -> None:
        self._double = double
        self.paid: Counter[str] = Counter()  # answered calls per image (object key)
        self._lock = threading.Lock()
        for operation in FEATURE_OPERATIONS.values():  # DetectLabels -> detect_labels, ...
            setattr(self, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower(), self._caller(operation))

    def _caller(self, operation: str) -> Any:
        def call(**request: Any) -> dict[str, Any]:
            try:
                answer = self._double.call(operation)
                with self._lock:
                    self.paid[request["Image"]["S3Object"]["Name"]] += 1
                return answer
            except Throttled:
                error = {"Code": "ProvisionedThroughputExceededException", "Message": "rate exceeded"}
                raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation) from None

        return call


class OpenGate:
    def acquire(self, key: str, deadline: float) -> bool:
        return True


class Objects:
    def __init__(self) -> None:
        self._bytes = image_bytes(640, 480)

    def describe(self, ref: ObjectRef) -> ObjectInfo:
        metadata = {"image-id": ref.key.rsplit("/", 1)[-1], "owner": "bench", "features": ",".join(FEATURES)}
        return ObjectInfo(size=len(self._bytes), etag=ref.key, version_id=None, metadata=metadata)

    def read_range(self, ref: ObjectRef, first: int, last: int) -> bytes:
        return self._bytes[first : last + 1]

    def remove(self, ref: ObjectRef) -> None:
        pass


class Events:
    def publish(self, event: dict[str, Any]) -> None:
        pass


@dataclass(order=True)
class _Message:
    visible_at: float
    seq: int
    body: str = field(compare=False)
    deferrals: int = field(compare=False, default=0)
    receives: int = field(compare=False, default=0)


class Queue:
    """SQS as the worker sees it: delays, a visibility timeout on failure, maxReceiveCount to a DLQ."""

    def __init__(
        self, max_receive_count: int, clock: Callable[[], float], visibility_seconds: float = 30.0, requeue: bool = True
    ) -> None:
        self._clock = clock
        self._requeue = requeue
        self._heap: list[_Message] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._max_receives = max_receive_count
        self._visibility = visibility_seconds
        self.dead_letters = 0
        self.deferred = 0

    def send(self, body: str, delay: float = 0.0, deferrals: int = 0) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._heap, _Message(self._clock() + delay, self._seq, body, deferrals))

    def put_back(self, body: str, deferrals: int, delay_seconds: int) -> None:
        if not self._requeue:  # today's code: the record fails back to SQS and uses up a receive
            raise RecognitionUnavailable("throttled beyond the retries")
        self.deferred += 1
        self.send(body, delay_seconds, deferrals)

    def receive(self, limit: int) -> list[_Message]:
        now, batch = self._clock(), list[_Message]()
        with self._lock:
            while self._heap and self._heap[0].visible_at <= now and len(batch) < limit:
                message = heapq.heappop(self._heap)
                message.receives += 1
                batch.append(message)
        return batch

    def fail(self, message: _Message) -> None:
        with self._lock:
            if message.receives >= self._max_receives:
                self.dead_letters += 1
                return
            message.visible_at = self._clock() + self._visibility
            heapq.heappush(self._heap, message)


def _notification(key: str) -> str:
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "images"}, "object": {"key": key}}}
    return json.dumps({"Records": [record]})


@dataclass
class SimulationResult:
    shape: FleetShape
    quota: int
    median_seconds: float
    seconds: float
    completed: int
    quota_used: dict[str, float]
    calls_per_image: float
    max_calls_per_image: int
    throttled: int
    dead_letters: int
    deferrals: int
    ledger_writes: int
    waited_seconds: float
    billed_seconds: float  # Lambda duration of every invocation of the run (warm-up included)
    finished: int  # images completed in the whole run
    # Where the time went, averaged over the measuring window (sampled every 0.05 s of the run's time):
    # calls waiting for a token (all operations), images being analysed, image slots of busy instances left
    # idle by a batch's stragglers, instances between batches, and the share of the ledger's slots filled.
    waiting_calls: float = 0.0
    images_in_flight: float = 0.0
    straggler_idle_slots: float = 0.0
    idle_instances: float = 0.0
    slots_filled: float = 0.0
    wasted_tokens: int = 0  # taken from the ledger but not spent within their slot

    @property
    def ledger_writes_per_image(self) -> float:
        return self.ledger_writes / max(1, self.finished)

    @property
    def billed_seconds_per_image(self) -> float:
        return self.billed_seconds / max(1, self.finished)

    @property
    def images_per_second(self) -> float:
        return self.completed / self.seconds

    @property
    def min_quota_used(self) -> float:
        return min(self.quota_used.values()) if self.quota_used else 0.0


def simulate(
    shape: FleetShape, quota: int, median_seconds: float, seconds: float, warmup: float = 3.0, time_scale: float = 1.0
) -> SimulationResult:
    """Runs a backlog that outlasts ``seconds`` through the fleet; measures after ``warmup``.

    With ``time_scale`` k every clock and sleep of the run (the double's, the limiter's, the recognizer's, the
    queue's) goes k times slower than real time: the same run with k times less work per real second (the
    machine's two cores are shared); every figure is in the run's own time."""

    def clock() -> float:
        return time.monotonic() / time_scale

    def sleep(seconds: float) -> None:
        time.sleep(seconds * time_scale)

    double = RekognitionDouble(quota, median_seconds, clock=clock, sleep=sleep)
    client = DoubleClient(double)
    ledger = InMemorySlotLedger()
    queue = Queue(shape.max_receive_count, clock, requeue=shape.limited)
    table = FakeResults()
    backlog = int(quota * (warmup + seconds + 5) * 1.5)  # never runs out during the run
    for index in range(backlog):
        queue.send(_notification(f"uploads/bench/img-{index:06d}.jpg"))
    options = RecognitionOptions(
        min_confidence_labels=70,
        min_confidence_text=80,
        min_confidence_moderation=50,
        max_labels=50,
        max_attempts=shape.max_attempts,
        token_wait_seconds=shape.token_wait_seconds,
    )
    settings = AnalysisSettings(default_features=frozenset({Feature.LABELS}), lock_seconds=60)
    stop = threading.Event()
    activity = _Activity()
    limiters: list[RateLimiter] = []
    billed: list[float] = []  # one Lambda invocation's duration per batch

    def instance() -> None:
        limiter = RateLimiter(ledger, dict.fromkeys(FEATURE_OPERATIONS, quota), clock=clock, sleep=sleep)
        limiters.append(limiter)
        calls = ThreadPoolExecutor(max_workers=shape.image_concurrency * len(FEATURES))
        images = ThreadPoolExecutor(max_workers=shape.image_concurrency)
        gate = limiter if shape.limited else OpenGate()
        service = ImageAnalysis(
            objects=Objects(),
            recognizer=RekognitionRecognizer(cast(Any, client), calls, options, gate, clock=clock, sleep=sleep),
            repository=table,
            publisher=Events(),
            settings=settings,
        )

        def handle(message: _Message) -> None:
            activity.add(images=1)
            try:
                receive(service, queue, QueuedMessage(message.body, message.deferrals))
            except Exception:
                queue.fail(message)
            finally:
                activity.add(images=-1)

        while not stop.is_set():
            batch = queue.receive(shape.batch_size)
            if not batch:
                time.sleep(0.05)
                continue
            invoked = clock()
            activity.add(instances=1)
            list(images.map(handle, batch))
            activity.add(instances=-1)
            billed.append(clock() - invoked)
        calls.shutdown(wait=False, cancel_futures=True)
        images.shutdown(wait=False, cancel_futures=True)

    fleet = [threading.Thread(target=instance, daemon=True) for _ in range(shape.instances)]
    started = clock()
    for thread in fleet:
        thread.start()
    sleep(warmup)
    done_at_warmup = len(table.images)
    samples: list[tuple[float, float, float, float]] = []
    measure_end = clock() + seconds
    while clock() < measure_end:
        waiting = sum(gate.waiting for limiter in list(limiters) for gate in limiter._gates.values())
        with activity.lock:
            busy, in_flight = activity.instances, activity.images
        straggling = busy * shape.image_concurrency - in_flight
        samples.append((waiting, in_flight, max(0, straggling), shape.instances - busy))
        sleep(0.05)
    end = clock()
    completed = len(table.images) - done_at_warmup
    stop.set()
    give_up = time.monotonic() + 30  # instances still in a batch finish it on their own (daemon threads)
    for thread in fleet:
        thread.join(timeout=max(0.0, give_up - time.monotonic()))
    finished = [record for record in table.images.values() if record.status is Status.COMPLETED]
    paid = [client.paid[str(record.object["key"])] for record in finished]
    return SimulationResult(
        shape=shape,
        quota=quota,
        median_seconds=median_seconds,
        seconds=end - started - warmup,
        completed=completed,
        quota_used=double.quota_used(started + warmup, end),
        calls_per_image=sum(paid) / max(1, len(paid)),
        max_calls_per_image=max(paid, default=0),
        throttled=sum(double.stats.throttled.values()),
        dead_letters=queue.dead_letters,
        deferrals=queue.deferred,
        ledger_writes=len(ledger.takes),
        waited_seconds=sum(limiter.stats.waited_seconds for limiter in limiters),
        billed_seconds=sum(billed),
        finished=len(finished),
        wasted_tokens=sum(limiter.stats.wasted for limiter in limiters),
        **_where_time_went(samples, ledger, quota, started + warmup, end),
    )


class _Activity:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.instances = 0  # instances inside a batch (an invocation)
        self.images = 0  # images being analysed

    def add(self, *, images: int = 0, instances: int = 0) -> None:
        with self.lock:
            self.images += images
            self.instances += instances


def _where_time_went(
    samples: list[tuple[float, float, float, float]], ledger: InMemorySlotLedger, quota: int, start: float, end: float
) -> dict[str, float]:
    count = max(1, len(samples))
    waiting, in_flight, straggling, idle = (sum(column) / count for column in zip(*samples, strict=True))
    plan = SlotPlan(quota)
    slots = range(plan.slot_at(start) + 1, plan.slot_at(end))
    capacity = sum(plan.capacity(slot) for slot in slots) * len(FEATURES)
    used = sum(ledger.used[key, slot] for key in FEATURES for slot in slots)
    return {
        "waiting_calls": waiting,
        "images_in_flight": in_flight,
        "straggler_idle_slots": straggling,
        "idle_instances": idle,
        "slots_filled": used / max(1, capacity),
    }
