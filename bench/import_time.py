"""Cold-start import cost of each handler module next to a bare ``import boto3`` (issue 13: at most 1.5x).

Run: ``python bench/import_time.py [--samples 7] [--before main] [--first-call]``. Every sample is a fresh
interpreter (``python -c "import X"``, CPU time of the whole process minus an empty interpreter's), so
nothing is cached in ``sys.modules``; the table shows the median per module and its ratio to boto3.
``--before REV`` measures the Lambda code of git revision REV too (extracted with ``git archive`` into a
temporary directory), side by side. ``--first-call`` also times what a first invocation imports lazily
(the flow's handler module, which the entry module defers). Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {
    "worker": "image_pipeline.handlers.worker",
    "api": "image_pipeline.handlers.api",
    "dispatcher": "image_pipeline.handlers.dispatcher",
}
# What a first invocation imports on top of the handler module (handlers/<function>.py defers it).
FIRST_CALL = {
    "worker": "image_pipeline.recognition.handler",
    "api": "image_pipeline.api.handler",
    "dispatcher": "image_pipeline.webhooks.handler",
}
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "PYTHONDONTWRITEBYTECODE": "",
}


def run(code: str, lambdas: Path) -> float:
    """CPU seconds (user + system) of a fresh interpreter running ``code``: unlike wall time, barely moved by
    other processes on a shared machine (a Lambda cold start is CPU-bound the same way)."""
    env = {**ENVIRONMENT, "PYTHONPATH": str(lambdas), "PATH": "/usr/bin:/bin"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=lambdas)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(code: str, lambdas: Path, samples: int, empty: float) -> float:
    return statistics.median(run(code, lambdas) for _ in range(samples)) - empty


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision, "lambdas"], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "lambdas"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--before", help="a git revision to measure side by side (e.g. main)")
    parser.add_argument("--first-call", action="store_true", help="also time the imports of a first invocation")
    args = parser.parse_args()

    trees = {"now": ROOT / "lambdas"}
    with tempfile.TemporaryDirectory() as temporary:
        if args.before:
            trees = {args.before: extract(args.before, Path(temporary)), **trees}
        empty = statistics.median(run("pass", ROOT / "lambdas") for _ in range(args.samples))
        boto3 = median("import boto3", ROOT / "lambdas", args.samples, empty)
        print(f"python {sys.version.split()[0]}, {args.samples} samples each, fresh interpreter per sample,")
        print(f"median CPU time (user + system) minus an empty interpreter ({empty * 1000:.0f} ms)\n")
        header = f"{'module':<40}" + "".join(f"{name:>18}" for name in trees)
        print(header)
        print("-" * len(header))
        print(f"{'import boto3':<40}" + "".join(f"{boto3 * 1000:>15.0f} ms" for _ in trees))
        for module in HANDLERS.values():
            cells = []
            for tree in trees.values():
                seconds = median(f"import {module}", tree, args.samples, empty)
                cells.append(f"{seconds * 1000:>7.0f} ms {seconds / boto3:>5.2f}x")
            print(f"{module:<40}" + "".join(f"{cell:>18}" for cell in cells))
        if args.first_call:
            print("\nhandler module + what its first invocation imports (the current tree):")
            for name, module in FIRST_CALL.items():
                seconds = median(f"import {HANDLERS[name]}, {module}", trees["now"], args.samples, empty)
                print(f"{name + ' first call':<40}{seconds * 1000:>7.0f} ms {seconds / boto3:>5.2f}x")


if __name__ == "__main__":
    main()
