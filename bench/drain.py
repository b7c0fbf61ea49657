"""How fast a backlog drains at the Rekognition quota, and how much of the quota it uses.

    .venv/bin/python -m bench.drain [--images 40] [--latencies 0.15,0.4,1.2,2.5] [--before-tree DIR]
                                    [--sim-seconds 10] [--no-local] [--no-sim]

Part 1, the real functions in the local mode: a Rekognition double (bench/rekognition_double.py: a token
bucket of the dev quota, 5 TPS, per operation; lognormal latency of the given median) is started on an
ephemeral port, the local mode runs the dev assembly with ``rekognition_endpoint`` pointed at it (what
``make local REKOGNITION_ENDPOINT_URL=...`` does), ``--images`` images with four features each are put
straight into the bucket, and the run ends when every image is finished (or after a bound). Each scenario
runs in its own process with a fresh local mode. With ``--before-tree DIR`` (a checkout of the code before
the rate limiter, its dev assembly synthesized in ``DIR/cdk.out/dev``) each scenario also runs on that code,
and the table shows both side by side.

Part 2, the prod config at its 50 TPS (bench/quota_simulation.py): the worker's own flow-control code in
one process (the emulator on two cores cannot carry 50 images per second), for ``--sim-seconds`` per
scenario after a warm-up of five median latencies (at least 3 s), before (the prod fleet before the sizing
rule: 50 x 10, token wait 10 s) and after (the prod config as stacks/config.py has it), one after the other.

Prints per scenario: the share of the quota used (the least used operation, over the run), paid calls per
image, throttled answers, dead letters, images per second; and the limiter's cost per 1,000 images.
Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FEATURES = "labels,text,faces,moderation"
DEV_QUOTA = 5
PROD_QUOTA = 50
# us-east-1 list prices (2026-11): Rekognition Group 2 APIs, first tier, per image and API; DynamoDB on-demand
# writes per million write request units; Lambda arm64 per GB-second; SQS standard per million requests.
REKOGNITION_PER_CALL = 1.0 / 1000
DYNAMODB_PER_WRITE = 0.625 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000133334
SQS_PER_REQUEST = 0.40 / 1_000_000
PROD_MEMORY_GB = 1.0


def _local_scenario(assembly: Path, median: float, images: int, bound_seconds: float) -> dict[str, Any]:
    """One scenario in this process: double + local mode + backlog; what it measured."""
    import boto3

    from bench.rekognition_double import DoubleServer, RekognitionDouble
    from local import app as local_app
    from local.console import Console
    from tests.support.images import image_bytes

    double = RekognitionDouble(DEV_QUOTA, median)
    server = DoubleServer(double)
    work = Path(tempfile.mkdtemp(prefix="drain-"))
    options = local_app.Options(
        assembly_dir=assembly, port=0, web_port=0, outputs_file=work / "outputs.json", work_dir=work
    )
    if "rekognition_endpoint" in {f.name for f in dataclasses.fields(local_app.Options)}:
        options = dataclasses.replace(options, rekognition_endpoint=server.url)
    else:  # the code before REKOGNITION_ENDPOINT_URL: the same through the functions' local settings
        options = dataclasses.replace(options, analyzer=False)
        vars(local_app)["LOCAL_SETTINGS"]["AWS_ENDPOINT_URL_REKOGNITION"] = server.url
    log = (work / "local.log").open("w")
    # The pollers start only once the whole backlog is in the queue: a backlog, not a trickle of uploads.
    held: list[Any] = []
    # Where the poller lives differs between the code before and after the local mode's split into packages.
    poller_module = "local.functions.sqs_poller" if importlib.util.find_spec("local.functions") else "local.sqs_poller"
    SqsPoller = importlib.import_module(poller_module).SqsPoller  # noqa: N806 (a class)
    start_poller = SqsPoller.start

    def hold(poller: Any) -> None:
        held.append(poller)

    setattr(SqsPoller, "start", hold)  # noqa: B010 (a method replaced on purpose)
    mode = local_app.LocalMode(options, Console(log))
    try:
        outputs = mode.start()
        values = {key: value for stack in outputs.values() for key, value in stack.items()}
        endpoint = str(mode.moto.url) if mode.moto is not None else ""
        session = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        s3 = boto3.client("s3", **session, **credentials)
        dynamodb = boto3.client("dynamodb", **session, **credentials)
        sqs = boto3.client("sqs", **session, **credentials)
        bodies = [image_bytes(320, 240, seed=index) for index in range(images)]
        started = time.monotonic()
        for index, body in enumerate(bodies):
            s3.put_object(
                Bucket=values["UploadBucketName"],
                Key=f"uploads/drain/img-{index:04d}.jpg",
                Body=body,
                Metadata={"features": FEATURES},
            )
        while _waiting(sqs, values["UploadQueueUrl"]) < images:
            time.sleep(0.2)
        started = time.monotonic()
        for poller in held:
            start_poller(poller)
        finished, ended = 0, started
        while time.monotonic() - started < bound_seconds:
            time.sleep(1.0)
            finished = _finished_images(dynamodb, values["ResultsTableName"])
            ended = time.monotonic()
            if finished >= images:
                break
        dead = sqs.get_queue_attributes(
            QueueUrl=values["DeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    finally:
        mode.close()
        server.close()
        log.close()
    first, last = double.active_window()
    used = double.quota_used(first, max(last, first + 1e-3)) if last > first else {}
    return {
        "median": median,
        "images": images,
        "finished": finished,
        "seconds": ended - started,
        "quota_used": min(used.values()) if used else 0.0,
        "calls_per_image": sum(double.stats.accepted.values()) / max(1, finished),
        "throttled": sum(double.stats.throttled.values()),
        "dead_letters": int(dead),
        "images_per_second": finished / max(1e-9, last - first) if last > first else 0.0,
        "log": str(work / "local.log"),
    }


def _waiting(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _finished_images(dynamodb: Any, table: str) -> int:
    count = 0
    request: dict[str, Any] = {"TableName": table, "FilterExpression": "sk = :image AND #status IN (:done, :failed)"}
    request |= {
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":image": {"S": "IMAGE"},
            ":done": {"S": "COMPLETED"},
            ":failed": {"S": "FAILED"},
        },
        "Select": "COUNT",
    }
    while True:
        page = dynamodb.scan(**request)
        count += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return count
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _run_local(code_root: Path, median: float, images: int, bound: float) -> dict[str, Any]:
    """A scenario in a fresh process that imports the local mode from ``code_root``."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable,
        "-m",
        "bench.drain",
        "--one-local",
        str(median),
        "--code-root",
        str(code_root),
        "--images",
        str(images),
        "--bound",
        str(bound),
    ]
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"scenario {median} s in {code_root} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _local_table(after: list[dict[str, Any]], before: list[dict[str, Any]] | None) -> str:
    head = "| median latency | quota used | calls/image | throttled | dead letters | images/s |"
    rule = "|---|---|---|---|---|---|"
    rows = []
    for index, run in enumerate(after):
        old = before[index] if before else None

        def cell(key: str, form: str, run: dict[str, Any] = run, old: dict[str, Any] | None = old) -> str:
            new = form.format(run[key]) if key != "quota_used" else _percent(run[key])
            if old is None:
                return new
            was = form.format(old[key]) if key != "quota_used" else _percent(old[key])
            return f"{was} -> {new}"

        unfinished = "" if run["finished"] == run["images"] else f" ({run['finished']}/{run['images']} finished)"
        rows.append(
            f"| {run['median']} s | {cell('quota_used', '')} | {cell('calls_per_image', '{:.2f}')} | "
            f"{cell('throttled', '{}')} | {cell('dead_letters', '{}')} | {cell('images_per_second', '{:.2f}')}"
            f"{unfinished} |"
        )
    return "\n".join([head, rule, *rows])


def _simulation(seconds: float, latencies: list[float], time_scale: float) -> str:
    sys.path.insert(0, str(ROOT / "lambdas"))
    # The worker's code logs and emits metrics as in Lambda: keep its info lines and metrics out of the table.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # instances still in a batch after a run print too
    from bench.quota_simulation import BEFORE, prod_fleet, simulate, warmup_for

    after = prod_fleet()
    head = (
        "| median latency | quota used (before -> after) | calls/image | throttled | dead letters | images/s | "
        "put-backs | ledger writes/image | Lambda s/image | tokens taken / void | load |"
    )
    rows = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    costs = []
    for median in latencies:
        real_stdout = sys.stdout
        warmup = warmup_for(median)
        with contextlib.redirect_stdout(io.StringIO()):  # the worker's EMF metrics and logs
            old = simulate(BEFORE, PROD_QUOTA, median, seconds, warmup=warmup, time_scale=time_scale)
            load_old = os.getloadavg()[0]
            new = simulate(after, PROD_QUOTA, median, seconds, warmup=warmup, time_scale=time_scale)
            load_new = os.getloadavg()[0]
        sys.stdout = real_stdout
        rows.append(
            f"| {median} s | {_percent(old.min_quota_used)} -> {_percent(new.min_quota_used)} | "
            f"{old.calls_per_image:.2f} -> {new.calls_per_image:.2f} (max {new.max_calls_per_image}) | "
            f"{old.throttled} -> {new.throttled} | {old.dead_letters} -> {new.dead_letters} | "
            f"{old.images_per_second:.1f} -> {new.images_per_second:.1f} | {old.deferrals} -> {new.deferrals} | "
            f"{old.ledger_writes_per_image:.2f} -> {new.ledger_writes_per_image:.2f} | "
            f"{old.billed_seconds_per_image:.2f} -> {new.billed_seconds_per_image:.2f} | "
            f"{_percent(old.slots_filled)} / {old.wasted_tokens} -> {_percent(new.slots_filled)} / "
            f"{new.wasted_tokens} | {load_old:.0f}, {load_new:.0f} |"
        )
        costs.append((median, new))
    shape = f"{after.instances} x {after.image_concurrency}, token wait {after.token_wait_seconds:.0f} s"
    lines = [f"before: 50 x 10, token wait 10 s; after: {shape}", "\n".join(rows), ""]
    for median, new in costs:
        writes = 1000 * new.ledger_writes_per_image * DYNAMODB_PER_WRITE
        requeue = 1000 * new.deferrals / max(1, new.finished) * 3 * SQS_PER_REQUEST  # send, receive, delete
        # The whole Lambda time of the worker: an upper bound of what waiting for tokens costs.
        lambda_time = 1000 * new.billed_seconds_per_image * PROD_MEMORY_GB * LAMBDA_PER_GB_SECOND
        bill = 1000 * 4 * REKOGNITION_PER_CALL  # four features per image
        total = writes + requeue + lambda_time
        lines.append(
            f"limiter cost at {median} s per 1,000 images: at most ${total:.5f} (ledger writes ${writes:.5f}, "
            f"put-backs ${requeue:.5f}, all the worker's Lambda time ${lambda_time:.5f}) = {100 * total / bill:.3f}% "
            f"of the Rekognition bill (${bill:.2f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--latencies", default="0.15,0.4,1.2,2.5")
    parser.add_argument("--before-tree", type=Path, help="the code before the rate limiter, dev assembly synthesized")
    parser.add_argument("--bound", type=float, default=150.0, help="seconds a local scenario may last at most")
    parser.add_argument("--sim-seconds", type=float, default=8.0)
    parser.add_argument(
        "--sim-time-scale", type=float, default=10.0, help="the simulation runs this many times slower than real time"
    )
    parser.add_argument("--no-local", action="store_true")
    parser.add_argument("--no-sim", action="store_true")
    parser.add_argument("--one-local", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--code-root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_local is not None:
        sys.path.insert(0, str(args.code_root))  # its local mode (and its assembly)
        assembly = args.code_root / "cdk.out" / "dev"
        print(json.dumps(_local_scenario(assembly, args.one_local, args.images, args.bound)))
        return 0
    latencies = [float(value) for value in args.latencies.split(",")]
    if not args.no_local:
        after, before = [], []
        for median in latencies:
            after.append(_run_local(ROOT, median, args.images, args.bound))
            if args.before_tree:
                before.append(_run_local(args.before_tree.resolve(), median, args.images, args.bound))
            print(f"local mode, {median} s: done", file=sys.stderr)
        print(f"Local mode, dev config (quota {DEV_QUOTA} TPS per operation), {args.images} images x 4 features:")
        print(_local_table(after, before or None))
        print()
    if not args.no_sim:
        print(f"Simulation, prod config (quota {PROD_QUOTA} TPS per operation), {args.sim_seconds:.0f} s per run:")
        print(_simulation(args.sim_seconds, latencies, args.sim_time_scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
