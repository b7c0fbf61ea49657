"""``python -m analyzer`` as the Makefile and the local mode start it."""

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "--port", "0", "--tps-limit", "5", "--latency-ms", "1"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                yield found.group(1)
                break
        else:
            pytest.fail(f"the analyzer exited with {process.wait()}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_cli_serves_and_loads_nothing_before_the_first_request(cli_server: str) -> None:
    with urllib.request.urlopen(f"{cli_server}/health", timeout=30) as response:
        health = json.loads(response.read())

    assert health == {
        "status": "ok",
        "models": {"classifier": 0, "faces": 0, "landmarks": 0, "text": 0, "nudity": 0, "nsfw": 0},
    }
