"""One readable stream for everything the local mode runs: each line starts with who wrote it."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


class Console:
    def __init__(self, stream: TextIO | None = None, width: int = 28) -> None:
        self._stream = stream or sys.stdout
        self._width = width
        self._lock = threading.Lock()

    def prefix(self, name: str) -> str:
        return f"{name[: self._width]:<{self._width}} | "

    def line(self, name: str, text: str) -> None:
        with self._lock:
            for part in text.splitlines() or [""]:
                self._stream.write(f"{self.prefix(name)}{part}\n")
            self._stream.flush()

    def say(self, text: str) -> None:
        self.line("local", text)
