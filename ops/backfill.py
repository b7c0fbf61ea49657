"""``make backfill``: analyses every JPEG/PNG already under a bucket prefix, at the worker's (the quota's) pace.

    make backfill ENV=dev BUCKET=my-archive PREFIX=photos/2024/ [OWNER=alice] [FEATURES=labels,text]
    make backfill OUTPUTS=.local/cdk-outputs.json                # the local mode: its bucket under library/
    make backfill ENV=prod RUN=backfill-20261130-0312-ab12        # watch a run again (it goes on without you)

In AWS it starts the backfill state machine (a Step Functions Distributed Map over S3 ListObjectsV2) with a new
run id, then follows the run's counts until every listed object is settled. In the local mode, which cannot run a
Distributed Map, this tool is the map: it lists the prefix and invokes the same backfill function batch by batch
(Lambda Invoke against the emulator), then follows the run the same way. A second run skips what the first did.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from image_pipeline.backfill.adapters.runs_table import BackfillRuns
from image_pipeline.backfill.domain.backfill import BacklogFull, RunProgress
from ops.deployment import client_for, output_value
from stacks import outputs
from stacks.config import LIBRARY_PREFIX

BAR_WIDTH = 30
BACKLOG_FULL = BacklogFull.__name__  # the function's error while the upload queue holds enough work
FINISHED = "finished"


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"backfill-{stamp}-{secrets.token_hex(2)}"


def run_input(run_id: str, bucket: str, prefix: str, owner: str, features: str) -> dict[str, str]:
    """The state machine's input; the map hands all but the prefix to every batch (its BatchInput)."""
    return {"runId": run_id, "bucket": bucket, "prefix": prefix, "owner": owner, "features": features}


def listed_items(pages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """ListObjectsV2 pages -> the items the Distributed Map's item selector gives a batch (Key, Etag, Size)."""
    for page in pages:
        for entry in page.get("Contents", []):
            yield {"Key": entry["Key"], "Etag": entry.get("ETag", ""), "Size": int(entry.get("Size", 0))}


def batches(items: Iterator[dict[str, Any]], batch_input: dict[str, str], size: int) -> Iterator[dict[str, Any]]:
    """The events the map's item batcher makes: ``{"BatchInput": ..., "Items": [...]}``, ``size`` items each."""
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield {"BatchInput": batch_input, "Items": batch}
            batch = []
    if batch:
        yield {"BatchInput": batch_input, "Items": batch}


class BatchFailed(RuntimeError):
    pass


def invoke_batch(
    lambda_client: Any,
    function_name: str,
    event: dict[str, Any],
    attempts: int = 3,
    on_backlog: Callable[[], None] = lambda: time.sleep(1),
) -> dict[str, int]:
    """One batch through the backfill function, retried like the map's task (a batch may run twice): while the
    upload queue is full enough (BacklogFull) it waits as long as it takes, any other error ``attempts`` times."""
    error: Any = None
    failures = 0
    while failures < attempts:
        response = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" not in response:
            return dict(payload)
        if isinstance(payload, dict) and payload.get("errorType") == BACKLOG_FULL:
            on_backlog()
            continue
        failures, error = failures + 1, payload
    raise BatchFailed(f"the backfill function failed a batch {attempts} times: {error}")


@dataclass
class Display:
    """A progress bar on a terminal (one line redrawn), a plain line per change otherwise."""

    out: TextIO
    tty: bool
    _last: str = ""

    def show(self, progress: RunProgress, listing: str) -> None:
        line = describe(progress, listing)
        if line == self._last:
            return
        self._last = line
        if self.tty:
            self.out.write("\r\x1b[2K" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def end(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def describe(progress: RunProgress, listing: str) -> str:
    total = max(progress.listed, 1)
    share = progress.settled / total if progress.listed else 0.0
    filled = round(min(share, 1.0) * BAR_WIDTH)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return (
        f"[{bar}] {share:4.0%} done {progress.done}, skipped {progress.skipped}, failed {progress.failed}, "
        f"remaining {progress.remaining} (listed {progress.listed}, ignored {progress.ignored}, "
        f"queued {progress.queued}; listing {listing})"
    )


def follow(
    read: Callable[[], RunProgress],
    listing: Callable[[], str],
    display: Display,
    *,
    poll_seconds: float,
    stall_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RunProgress:
    """Polls the run's counts until the listing is over and nothing listed remains; raises TimeoutError when the
    counts do not move for ``stall_seconds`` (a message in the dead-letter queue is never settled)."""
    last: RunProgress | None = None
    moved = clock()
    while True:
        progress, state = read(), listing()
        display.show(progress, state)
        if state != "running" and progress.remaining == 0:
            return progress
        if progress != last:
            last, moved = progress, clock()
        elif clock() - moved > stall_seconds:
            raise TimeoutError(f"no progress for {stall_seconds:.0f} s")
        sleep(poll_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outputs", type=Path, required=True, help="cdk deploy --outputs-file, or the local mode's")
    parser.add_argument("--bucket", default="", help="default: the pipeline's own image bucket")
    parser.add_argument("--prefix", default="", help=f"default: {LIBRARY_PREFIX} in the pipeline's own bucket")
    parser.add_argument("--owner", default="anonymous")
    parser.add_argument("--features", default="", help="comma-separated; default: the environment's")
    parser.add_argument("--run", default="", help="follow this run instead of starting one")
    parser.add_argument("--batch-size", type=int, default=100, help="objects per batch in the local mode")
    parser.add_argument("--poll-seconds", type=float, default=0)
    parser.add_argument("--stall-seconds", type=float, default=900)
    arguments = parser.parse_args(argv)
    document = json.loads(arguments.outputs.read_text())
    local = document.get("Local")
    runs = BackfillRuns(client_for(document, "dynamodb"), output_value(document, outputs.RESULTS_TABLE_NAME))
    bucket = arguments.bucket or output_value(document, outputs.UPLOAD_BUCKET_NAME)
    prefix = arguments.prefix or (LIBRARY_PREFIX if not arguments.bucket else "")
    run_id = arguments.run or new_run_id()
    display = Display(sys.stdout, sys.stdout.isatty())
    poll = arguments.poll_seconds or (0.5 if local else 5.0)
    listing: Callable[[], str]
    if arguments.run and local is None:
        listing = _execution_state(document, run_id)
    elif arguments.run:
        listing = lambda: FINISHED  # noqa: E731 - a local run's listing ended with the command that started it
    else:
        print(f"backfill run {run_id}: s3://{bucket}/{prefix} for {arguments.owner}", flush=True)
        batch_input = run_input(run_id, bucket, prefix, arguments.owner, arguments.features)
        if local is None:
            sfn = client_for(document, "stepfunctions")
            machine = output_value(document, outputs.BACKFILL_STATE_MACHINE_ARN)
            sfn.start_execution(stateMachineArn=machine, name=run_id, input=json.dumps(batch_input))
            listing = _execution_state(document, run_id)
        else:
            _local_map(document, batch_input, arguments.batch_size, runs, display)
            listing = lambda: FINISHED  # noqa: E731
    try:
        progress = follow(
            lambda: runs.read(run_id), listing, display, poll_seconds=poll, stall_seconds=arguments.stall_seconds
        )
    except TimeoutError as stalled:
        display.end()
        print(f"{stalled}: see the upload dead-letter queue (docs/runbook.md#backfill)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        display.end()
        print(f"stopped following; the run goes on. Follow it again: make backfill RUN={run_id}", file=sys.stderr)
        return 130
    display.end()
    state = listing()
    print(
        f"backfill run {run_id} {state}: {progress.done} analysed, {progress.skipped} skipped, "
        f"{progress.failed} failed, {progress.ignored} not JPEG/PNG, of {progress.listed} listed"
    )
    return 0 if state == FINISHED else 1


def _execution_state(document: dict[str, Any], run_id: str) -> Callable[[], str]:
    """The Distributed Map's state: running, finished, or how it ended otherwise (failed, aborted, timed out)."""
    sfn = client_for(document, "stepfunctions")
    machine = output_value(document, outputs.BACKFILL_STATE_MACHINE_ARN)
    execution = machine.replace(":stateMachine:", ":execution:") + f":{run_id}"

    def state() -> str:
        status = str(sfn.describe_execution(executionArn=execution)["status"])
        return {"RUNNING": "running", "SUCCEEDED": FINISHED}.get(status, status.lower())

    return state


def _local_map(
    document: dict[str, Any],
    batch_input: dict[str, str],
    size: int,
    runs: BackfillRuns,
    display: Display,
) -> None:
    """What the Distributed Map does in AWS: list the prefix and hand each batch to the backfill function."""
    s3, lambda_client = client_for(document, "s3"), client_for(document, "lambda")
    function = output_value(document, outputs.BACKFILL_FUNCTION_NAME)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=batch_input["bucket"], Prefix=batch_input["prefix"])
    run_id = batch_input["runId"]

    def wait_for_the_worker() -> None:
        display.show(runs.read(run_id), "running (waiting for the worker)")
        time.sleep(1)

    for event in batches(listed_items(iter(pages)), {k: v for k, v in batch_input.items() if k != "prefix"}, size):
        invoke_batch(lambda_client, function, event, on_backlog=wait_for_the_worker)
        display.show(runs.read(run_id), "running")


if __name__ == "__main__":
    sys.exit(main())
