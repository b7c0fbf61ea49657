"""Optional throttling and added latency, so tests and benchmarks can meet AWS's limits."""

import threading
import time
from collections import deque
from collections.abc import Callable

from analyzer.errors import ProvisionedThroughputExceededException


class Throttle:
    """Allows at most ``tps_limit`` requests per operation in any one-second window.

    Requests beyond the limit are answered with ``ProvisionedThroughputExceededException``
    and do not count. Every accepted request first waits ``latency_ms``.
    """

    def __init__(
        self,
        tps_limit: int | None = None,
        latency_ms: int = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._tps_limit = tps_limit
        self._latency_s = latency_ms / 1000
        self._clock = clock
        self._sleep = sleep
        self._accepted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, operation: str) -> None:
        if self._tps_limit is not None:
            self._count(operation, self._tps_limit)
        if self._latency_s > 0:
            self._sleep(self._latency_s)

    def _count(self, operation: str, limit: int) -> None:
        now = self._clock()
        with self._lock:
            window = self._accepted.setdefault(operation, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                raise ProvisionedThroughputExceededException(
                    f"Provisioned rate exceeded: {operation} allows {limit} transactions per second"
                )
            window.append(now)
