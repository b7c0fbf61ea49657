"""A Rekognition double for benchmarks: a quota per operation and a latency, nothing else.

Each operation has a token bucket that holds one second of its quota and refills at the quota (a call that
finds it empty is answered ``ProvisionedThroughputExceededException`` at once, and is not billed); an
accepted call takes a lognormal time (``median`` and ``sigma`` of its log) before its answer (the fixed
answers of tests/support/fake_rekognition.py). In process (``RekognitionDouble.call``) or over HTTP
(``DoubleServer``, what boto3 calls with ``AWS_ENDPOINT_URL_REKOGNITION``).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.fake_rekognition import ANSWERS

THROTTLED = "ProvisionedThroughputExceededException"


class Throttled(Exception):
    """The operation's bucket was empty."""


@dataclass
class _Bucket:
    quota: float
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.quota, self.tokens + (now - self.at) * self.quota)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class DoubleStats:
    accepted: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    accepted_at: list[tuple[float, str]] = field(default_factory=list)


class RekognitionDouble:
    def __init__(
        self,
        quota: int,
        median_seconds: float,
        *,
        sigma: float = 0.5,
        seed: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.quota = quota
        self.median = median_seconds
        self._sigma = sigma
        self._random = random.Random(seed)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.stats = DoubleStats()

    def call(self, operation: str) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(operation, _Bucket(self.quota, self.quota, now))
            if not bucket.take(now):
                self.stats.throttled[operation] += 1
                raise Throttled(operation)
            self.stats.accepted[operation] += 1
            self.stats.accepted_at.append((now, operation))
            latency = self._random.lognormvariate(math.log(self.median), self._sigma)
        self._sleep(latency)
        return ANSWERS[operation]

    def quota_used(self, start: float, end: float) -> dict[str, float]:
        """Per operation: accepted calls in [start, end) over what the quota allows in that time."""
        counts: Counter[str] = Counter(op for at, op in self.stats.accepted_at if start <= at < end)
        return {op: counts[op] / (self.quota * (end - start)) for op in sorted(self.stats.accepted)}

    def active_window(self) -> tuple[float, float]:
        """From the first to the last accepted call."""
        times = [at for at, _ in self.stats.accepted_at]
        return (min(times), max(times)) if times else (0.0, 0.0)


class DoubleServer:
    """The double on 127.0.0.1 (an ephemeral port) speaking Rekognition's JSON protocol."""

    def __init__(self, double: RekognitionDouble, host: str = "127.0.0.1", port: int = 0) -> None:
        self.double = double
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = self.headers.get("X-Amz-Target", "").split(".")[-1]
                try:
                    status, body = 200, server.double.call(operation)
                except Throttled:
                    status, body = 400, {"__type": THROTTLED, "Message": "Provisioned rate exceeded"}
                except KeyError:
                    status, body = 400, {"__type": "InvalidParameterException", "Message": operation}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", "double")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="rekognition-double", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
