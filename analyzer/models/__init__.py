"""The CPU models behind the operations, each loaded once, lazily, behind its own lock."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class LazyModel(Generic[T]):
    """Loads a model at first use and lends it to one caller at a time.

    One lock guards both the load (so concurrent first requests load it once) and each
    use (so models whose inference keeps state, like rapidocr's, are never shared).
    """

    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self.name = name
        self._load = load
        self._model: T | None = None
        self._lock = threading.Lock()
        self.load_count = 0

    @contextmanager
    def use(self) -> Iterator[T]:
        with self._lock:
            if self._model is None:
                self._model = self._load()
                self.load_count += 1
            yield self._model
