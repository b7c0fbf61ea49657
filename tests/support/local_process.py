"""``python -m local`` as a child process on free ports, for the e2e tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.synth import ROOT

READY = "Local mode ready"


class LocalProcess:
    def __init__(self, assembly: Path, work_dir: Path, *extra: str) -> None:
        self.outputs_file = work_dir / "cdk-outputs.json"
        self.lines: list[str] = []
        self._ready = threading.Event()
        command = [
            sys.executable,
            "-m",
            "local",
            "--assembly",
            str(assembly),
            "--port",
            "0",
            "--web-port",
            "0",
            "--outputs-file",
            str(self.outputs_file),
            "--work-dir",
            str(work_dir),
            *extra,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: what it leaves behind can be found
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 300) -> dict[str, Any]:
        self._ready.wait(timeout)
        if not any(READY in line for line in self.lines):
            self.stop()
            raise RuntimeError("local mode did not start:\n" + "\n".join(self.lines[-60:]))
        return dict(json.loads(self.outputs_file.read_text()))

    def wait_for(self, text: str, timeout: float = 300) -> None:
        """Until a line containing ``text`` was printed (RuntimeError if the process ends first)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no line with {text!r}:\n" + "\n".join(self.lines[-60:]))
            time.sleep(0.05)

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl-C in its terminal: SIGINT to its whole process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise

    def leftovers(self, grace: float = 5) -> list[int]:
        """Processes still alive in the local mode's process group (it leads its own session)."""
        deadline = time.monotonic() + grace
        while True:
            alive = []
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                state, pgrp = fields[0], int(fields[2])
                if pgrp == self.process.pid and state != "Z":
                    alive.append(int(entry.name))
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)
