"""make backfill's command (ops/backfill.py): batches as the map makes them, the progress display, when it stops."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from image_pipeline.backfill.adapters.runs_table import BackfillRuns
from image_pipeline.backfill.domain.backfill import BatchCounts, RunProgress
from ops import backfill as ops_backfill
from ops.backfill import FINISHED, BatchFailed, Display, batches, describe, follow, invoke_batch, listed_items
from tests.support.tables import create_keyed_table

PAGES = [
    {"Contents": [{"Key": "a.jpg", "ETag": '"1"', "Size": 10, "StorageClass": "STANDARD"}]},
    {"Contents": [{"Key": "b.png", "ETag": '"2"', "Size": 20}, {"Key": "c.txt", "ETag": '"3"', "Size": 3}]},
    {},
]


def test_the_listing_becomes_the_map_items_in_batches_with_the_run_input() -> None:
    run = {"runId": "r", "bucket": "b", "owner": "o", "features": ""}
    events = list(batches(listed_items(iter(PAGES)), run, 2))
    assert [len(event["Items"]) for event in events] == [2, 1]
    assert events[0]["Items"][0] == {"Key": "a.jpg", "Etag": '"1"', "Size": 10}
    assert all(event["BatchInput"] == run for event in events)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_following_ends_when_the_listing_is_over_and_nothing_remains() -> None:
    states = iter(
        [
            (RunProgress("r", listed=4, queued=3, ignored=1), "running"),
            (RunProgress("r", listed=4, queued=3, ignored=1, done=2), FINISHED),
            (RunProgress("r", listed=4, queued=3, ignored=1, done=3), FINISHED),
        ]
    )
    current: list[tuple[RunProgress, str]] = []

    def read() -> RunProgress:
        current[:] = [next(states)]
        return current[0][0]

    out = io.StringIO()
    clock = Clock()
    final = follow(
        read,
        lambda: current[0][1],
        Display(out, tty=False),
        poll_seconds=1,
        stall_seconds=60,
        sleep=clock.sleep,
        clock=clock,
    )
    assert final.done == 3
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith("[" + "#" * 30 + "] 100% done 3, skipped 0, failed 0, remaining 0")


def test_following_gives_up_when_the_counts_stop_moving() -> None:
    stuck = RunProgress("r", listed=2, queued=2, done=1)
    clock = Clock()
    with pytest.raises(TimeoutError):
        follow(
            lambda: stuck,
            lambda: FINISHED,
            Display(io.StringIO(), tty=False),
            poll_seconds=5,
            stall_seconds=30,
            sleep=clock.sleep,
            clock=clock,
        )
    assert 30 < clock.now <= 40


def test_a_terminal_gets_one_line_redrawn_and_a_pipe_a_line_per_change() -> None:
    tty, pipe = io.StringIO(), io.StringIO()
    for out, is_tty in ((tty, True), (pipe, False)):
        display = Display(out, tty=is_tty)
        for done in (0, 0, 1):
            display.show(RunProgress("r", listed=2, queued=2, done=done), "running")
        display.end()
    assert tty.getvalue().count("\r") == 2
    assert tty.getvalue().endswith("\n")
    assert len(pipe.getvalue().splitlines()) == 2
    assert "\r" not in pipe.getvalue()


def test_the_line_names_every_count() -> None:
    line = describe(RunProgress("r", listed=10, ignored=1, skipped=2, queued=7, done=3, failed=1), "running")
    assert "[" + "#" * 21 + "." * 9 + "]  70% done 3, skipped 2, failed 1, remaining 3" in line
    assert line.endswith("(listed 10, ignored 1, queued 7; listing running)")


class FlakyLambda:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.calls += 1
        body = json.dumps({"errorMessage": "boom"} if self.calls <= self.failures else {"queued": 1}).encode()
        response: dict[str, Any] = {"Payload": io.BytesIO(body)}
        if self.calls <= self.failures:
            response["FunctionError"] = "Unhandled"
        return response


class BusyLambda(FlakyLambda):
    """Answers BacklogFull ``busy`` times (the upload queue holds enough work), then queues the batch."""

    def __init__(self, busy: int) -> None:
        super().__init__(failures=busy)

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        response = super().invoke(FunctionName, Payload)
        if "FunctionError" in response:
            response["Payload"] = io.BytesIO(json.dumps({"errorType": "BacklogFull", "errorMessage": "full"}).encode())
        return response


def test_a_batch_waits_for_the_worker_as_long_as_the_queue_is_full_without_using_up_its_attempts() -> None:
    waits: list[int] = []
    assert invoke_batch(BusyLambda(busy=5), "fn", {}, attempts=3, on_backlog=lambda: waits.append(1)) == {"queued": 1}
    assert len(waits) == 5


def test_a_failed_batch_is_retried_like_the_maps_task_then_stops_the_run() -> None:
    assert invoke_batch(FlakyLambda(failures=2), "fn", {}) == {"queued": 1}
    with pytest.raises(BatchFailed, match="boom"):
        invoke_batch(FlakyLambda(failures=3), "fn", {})


class FakeStepFunctions:
    """Starting an execution runs the whole map and the worker at once; then the execution has ``status``."""

    def __init__(self, runs: BackfillRuns, status: str) -> None:
        self.runs, self.status = runs, status
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **request: Any) -> dict[str, Any]:
        self.started.append(request)
        run_id = json.loads(request["input"])["runId"]
        self.runs.add(run_id, BatchCounts(listed=3, ignored=1, queued=2))
        self.runs.finished(run_id, "img-1", succeeded=True)
        self.runs.finished(run_id, "img-2", succeeded=False)
        return {"executionArn": "arn"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        assert executionArn == f"{MACHINE.replace(':stateMachine:', ':execution:')}:{self.started[0]['name']}"
        return {"status": self.status}


MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Backfill"


@pytest.mark.parametrize(("status", "code"), [("SUCCEEDED", 0), ("FAILED", 1)])
def test_in_aws_it_starts_the_state_machine_for_a_new_run_and_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: str, code: int
) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(dynamodb, "results")
        sfn = FakeStepFunctions(BackfillRuns(dynamodb, "results"), status)
        monkeypatch.setattr(
            ops_backfill, "client_for", lambda document, service: {"dynamodb": dynamodb, "stepfunctions": sfn}[service]
        )
        document = {
            "ImagePipeline-prod-Data": {"ResultsTableName": "results", "UploadBucketName": "images"},
            "ImagePipeline-prod-Recognition": {"BackfillStateMachineArn": MACHINE},
        }
        (tmp_path / "outputs.json").write_text(json.dumps(document))
        arguments = ["--outputs", str(tmp_path / "outputs.json"), "--bucket", "archive", "--prefix", "2024/"]
        assert ops_backfill.main([*arguments, "--owner", "alice", "--poll-seconds", "0.01"]) == code
    [started] = sfn.started
    assert started["stateMachineArn"] == MACHINE
    assert json.loads(started["input"]) == {
        "runId": started["name"],
        "bucket": "archive",
        "prefix": "2024/",
        "owner": "alice",
        "features": "",
    }
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith(
        f"{status.lower() if code else 'finished'}: 1 analysed, 0 skipped, 1 failed, 1 not JPEG/PNG, of 3 listed"
    )
