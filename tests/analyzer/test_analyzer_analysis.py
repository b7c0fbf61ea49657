"""One pass per image: every operation on one image shares its decoded pixels and model outputs."""

import threading
from collections import Counter
from typing import Any

import numpy as np

from analyzer.analysis import AnalysisCache, ImageAnalysis
from analyzer.images import Picture, decode
from analyzer.models import LazyModel
from analyzer.models.registry import Models
from analyzer.models.text_lines import Quad
from analyzer.server import ServerConfig, start_server

FIVE_OPERATIONS = (
    ("detect_labels", {}),
    ("detect_text", {}),
    ("detect_faces", {"Attributes": ["ALL"]}),
    ("detect_moderation_labels", {}),
    ("recognize_celebrities", {}),
)


class _Runs:
    """Counts each fake model's inferences."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()


def _counting_models(runs: _Runs) -> Models:
    """Models whose inferences are counted and find nothing (no weights are loaded)."""

    class Classifier:
        names = [f"class {index}" for index in range(1000)]

        def probabilities(self, picture: Picture) -> Any:
            runs.count["classifier"] += 1
            return np.zeros(1000)

    class Faces:
        def detect(self, picture: Picture, with_smile: bool = False, sightings: Any = ()) -> list[Any]:
            runs.count["faces"] += 1
            return []

    class Landmarks:
        def shapes(self, picture: Picture, boxes: list[Any]) -> list[Any]:
            runs.count["landmarks"] += 1
            return []

    class Text:
        def read(self, picture: Picture) -> list[Any]:
            runs.count["text"] += 1
            return []

    class Nudity:
        def detect(self, picture: Picture) -> list[Any]:
            runs.count["nudity"] += 1
            return []

    class Nsfw:
        def score(self, picture: Picture) -> float:
            runs.count["nsfw"] += 1
            return 0.0

    return Models(
        faces=LazyModel("faces", Faces),  # type: ignore[arg-type]
        text=LazyModel("text", Text),  # type: ignore[arg-type]
        nudity=LazyModel("nudity", Nudity),  # type: ignore[arg-type]
        nsfw=LazyModel("nsfw", Nsfw),  # type: ignore[arg-type]
        classifier=LazyModel("classifier", Classifier),  # type: ignore[arg-type]
        landmarks=LazyModel("landmarks", Landmarks),  # type: ignore[arg-type]
    )


def _five_operations(client: Any, image: bytes) -> None:
    for method, extra in FIVE_OPERATIONS:
        getattr(client, method)(Image={"Bytes": image}, **extra)


def test_five_operations_on_one_image_run_each_model_once(samples: Any, s3_client: Any, make_client: Any) -> None:
    runs = _Runs()
    with start_server(models=_counting_models(runs), s3_client=s3_client) as server:
        _five_operations(make_client(server.url), samples.astronaut)

        assert server.analyses.misses == 1  # decoded once
        assert server.analyses.hits == 4
    assert runs.count == {"classifier": 1, "faces": 1, "landmarks": 1, "text": 1, "nudity": 1, "nsfw": 1}


def test_without_the_cache_every_operation_runs_its_models_again(
    samples: Any, s3_client: Any, make_client: Any
) -> None:
    runs = _Runs()
    config = ServerConfig(port=0, cached_images=0)
    with start_server(config, models=_counting_models(runs), s3_client=s3_client) as server:
        _five_operations(make_client(server.url), samples.astronaut)

        assert len(server.analyses) == 0
    # DetectLabels, DetectFaces and RecognizeCelebrities each find faces (and run NudeNet for them).
    assert runs.count["faces"] == 3
    assert runs.count["nudity"] == 4
    assert runs.count["text"] == 2


def test_an_s3_object_read_twice_is_analysed_once(s3_client: Any, samples: Any, make_client: Any) -> None:
    s3_client.create_bucket(Bucket="one-pass")
    s3_client.put_object(Bucket="one-pass", Key="astronaut.jpg", Body=samples.astronaut)
    runs = _Runs()
    with start_server(models=_counting_models(runs), s3_client=s3_client) as server:
        client = make_client(server.url)
        location = {"S3Object": {"Bucket": "one-pass", "Name": "astronaut.jpg"}}
        client.detect_faces(Image=location)
        client.recognize_celebrities(Image=location)

    assert runs.count["faces"] == 1


def test_the_cache_keeps_the_most_recent_images_within_its_bounds(encode: Any) -> None:
    from PIL import Image

    images = [encode(Image.new("RGB", (100, 100), (shade, 0, 0)), "PNG") for shade in range(4)]
    cache = AnalysisCache(Models(), max_images=2)
    first = cache.analysis(images[0])
    cache.analysis(images[1])
    assert cache.analysis(images[0]) is first  # a hit makes it the most recent
    cache.analysis(images[2])  # evicts images[1], the least recently used

    assert len(cache) == 2
    assert cache.analysis(images[0]) is first
    assert cache.misses == 3
    cache.analysis(images[1])
    assert cache.misses == 4

    small = AnalysisCache(Models(), max_images=10, max_bytes=2 * 100 * 100 * 3)
    for image in images:
        small.analysis(image)
    assert len(small) == 2
    assert small.pixel_bytes == 2 * 100 * 100 * 3


def test_concurrent_first_requests_for_one_image_share_one_analysis(encode: Any) -> None:
    # Given a second request for the same bytes that arrives while the first is decoding.
    from PIL import Image

    image = encode(Image.new("RGB", (100, 100), "white"), "PNG")
    answers: list[ImageAnalysis] = []
    competed = threading.Event()

    def decode_with_a_competitor(data: bytes) -> Picture:
        if not competed.is_set():
            competed.set()
            answers.append(cache.analysis(data))  # the competing request, run at this exact point
        return decode(data)

    cache = AnalysisCache(Models(), decoder=decode_with_a_competitor)

    first = cache.analysis(image)

    assert first is answers[0]
    assert len(cache) == 1


def test_an_output_asked_for_twice_at_once_is_computed_once() -> None:
    runs = _Runs()
    models = _counting_models(runs)
    analysis = ImageAnalysis(Picture(np.zeros((100, 100, 3), np.uint8)), models)
    competitor_started = threading.Event()
    results: list[Any] = []

    def competitor() -> None:
        competitor_started.set()
        results.append(analysis.text_lines())

    thread = threading.Thread(target=competitor)

    class SlowText:
        def read(self, picture: Picture) -> list[Quad]:
            runs.count["text"] += 1
            thread.start()
            competitor_started.wait()
            thread.join(timeout=0.2)  # it cannot finish: it waits for this computation
            assert thread.is_alive()
            return []

    models.text = LazyModel("text", SlowText)  # type: ignore[arg-type]

    first = analysis.text_lines()
    thread.join()

    assert results == [first]
    assert results[0] is first
    assert runs.count["text"] == 1
