"""Concurrent requests share one copy of each model."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from analyzer.models import LazyModel
from analyzer.models.registry import Models
from analyzer.server import start_server


def test_lazy_model_loads_once_under_concurrent_first_use() -> None:
    start = threading.Barrier(8)

    def slow_load() -> object:
        time.sleep(0.05)
        return object()

    model: LazyModel[object] = LazyModel("slow", slow_load)

    def first_use(_: int) -> object:
        start.wait()
        with model.use() as loaded:
            return loaded

    with ThreadPoolExecutor(8) as pool:
        loaded = set(map(id, pool.map(first_use, range(8))))

    assert model.load_count == 1
    assert len(loaded) == 1


def test_concurrent_requests_load_each_model_once(samples: Any, s3_client: Any, make_client: Any) -> None:
    models = Models()
    with start_server(models=models, s3_client=s3_client) as fresh:
        client = make_client(fresh.url)
        start = threading.Barrier(6)

        def detect(operation: str) -> dict[str, Any]:
            start.wait()
            answer: dict[str, Any] = getattr(client, operation)(Image={"Bytes": samples.astronaut})
            return answer

        operations = ["detect_faces", "recognize_celebrities", "detect_moderation_labels"] * 2
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(detect, operations))

    assert all(answer["ResponseMetadata"]["HTTPStatusCode"] == 200 for answer in answers)
    assert models.load_counts() == {"classifier": 0, "faces": 1, "landmarks": 1, "text": 0, "nudity": 1, "nsfw": 1}
