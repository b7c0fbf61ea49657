"""The TPS limit and the added latency."""

from typing import Any

import pytest

from analyzer.errors import ProvisionedThroughputExceededException
from analyzer.server import ServerConfig, start_server
from analyzer.throttle import Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_requests_beyond_the_limit_in_one_second_are_refused() -> None:
    clock = FakeClock()
    throttle = Throttle(tps_limit=2, clock=clock, sleep=clock.sleep)

    throttle.admit("DetectLabels")
    throttle.admit("DetectLabels")
    with pytest.raises(ProvisionedThroughputExceededException):
        throttle.admit("DetectLabels")
    throttle.admit("DetectText")  # each operation has its own limit
    clock.now += 1.0
    throttle.admit("DetectLabels")  # a second later the window has moved on


def test_latency_is_added_to_every_accepted_request() -> None:
    clock = FakeClock()
    throttle = Throttle(latency_ms=250, clock=clock, sleep=clock.sleep)

    throttle.admit("DetectFaces")
    throttle.admit("DetectFaces")

    assert clock.slept == [0.25, 0.25]


def test_server_answers_provisioned_throughput_exceeded(server: Any, s3_client: Any, make_client: Any) -> None:
    config = ServerConfig(port=0, tps_limit=1)
    with start_server(config, models=server.models, s3_client=s3_client) as limited:
        client = make_client(limited.url)
        # The first request spends the second's only token (its image is not even valid).
        with pytest.raises(client.exceptions.InvalidImageFormatException):
            client.detect_labels(Image={"Bytes": b"not an image"})
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
            client.detect_labels(Image={"Bytes": b"not an image"})
