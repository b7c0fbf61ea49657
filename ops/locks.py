"""``make lock``: every Python dependency set resolved to a lock file with hashes (pip-tools).

    make lock                                   # regenerates every lock below from its inputs
    .venv/bin/python -m ops.locks --upgrade     # the same, moving every unpinned dependency to its newest release
    .venv/bin/python -m ops.locks --check       # says which lock is stale (a unit test does the same)

Each lock records the SHA-256 of its inputs (the requirements files and the files they include with
``-r``) in a header line, so a changed pin without a regenerated lock is caught cheaply, without a
resolver run. ``make install`` installs ``requirements-dev.lock`` with ``--require-hashes``.

The development lock is resolved first (it holds everything ``make`` installs: dev tools, the CDK app,
the Lambda runtime and the analyzer); the others are resolved under it as constraints, so a package
has the same version in every lock. pip-compile runs with pip's own configuration, so on machines
whose pip looks in a folder of wheels (``find-links``) a local build found there (``torch==X+cpu``)
is what the lock pins.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGEST_PREFIX = "# inputs-sha256: "
INCLUDE = re.compile(r"^\s*-(?:r|-requirement)\s+(\S+)")
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#\\]+)")


@dataclass(frozen=True)
class Lock:
    path: str
    inputs: tuple[str, ...]
    description: str


LOCKS = (
    Lock(
        "requirements-dev.lock",
        ("requirements-dev.txt", "requirements-analyzer.txt"),
        "everything make installs: tests, lint, the CDK app, the Lambda runtime, the analyzer",
    ),
    Lock("requirements.lock", ("requirements.txt",), "the CDK app (synth, diff, deploy)"),
    Lock("lambdas/requirements.lock", ("lambdas/requirements.txt",), "the Lambda runtime"),
    Lock("requirements-analyzer.lock", ("requirements-analyzer.txt",), "the offline analyzer"),
)
# Resolved first; the other locks take its versions as constraints.
PRIMARY = LOCKS[0]


def input_files(inputs: Sequence[str], root: Path = ROOT) -> list[Path]:
    """The inputs and every file they include with ``-r``, each once, in a stable order."""
    seen: dict[Path, None] = {}
    pending = [root / name for name in inputs]
    while pending:
        path = pending.pop(0).resolve()
        if path in seen:
            continue
        seen[path] = None
        for line in path.read_text().splitlines():
            included = INCLUDE.match(line)
            if included:
                pending.append(path.parent / included.group(1))
    return sorted(seen)


def inputs_digest(inputs: Sequence[str], root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in input_files(inputs, root):
        digest.update(path.relative_to(root.resolve()).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def pins(text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line (names normalised as pip does)."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def problems(lock: Lock, root: Path = ROOT) -> list[str]:
    """Why ``lock`` does not match its inputs (an empty list when it does)."""
    path = root / lock.path
    if not path.exists():
        return [f"{lock.path} is missing: run `make lock`"]
    text = path.read_text()
    recorded = [line.removeprefix(DIGEST_PREFIX) for line in text.splitlines() if line.startswith(DIGEST_PREFIX)]
    found = []
    if recorded != [inputs_digest(lock.inputs, root)]:
        found.append(f"{lock.path} is stale: {', '.join(lock.inputs)} changed since it was made; run `make lock`")
    locked = pins(text)
    for source in input_files(lock.inputs, root):
        for name, version in pins(source.read_text()).items():
            # A lock may pin a local build of the same release (torch 2.13.0+cpu for torch==2.13.0).
            if locked.get(name, "").split("+")[0] != version.split("+")[0]:
                found.append(f"{lock.path}: {name}=={version} of {source.name} is locked as {locked.get(name)}")
    if "--hash=sha256:" not in text:
        found.append(f"{lock.path} has no hashes")
    return found


def compile_lock(lock: Lock, python: str, constraint: Lock | None, *, upgrade: bool) -> None:
    """pip-compile keeps what the existing lock holds for unchanged requirements unless ``upgrade``."""
    output = ROOT / lock.path
    command = [
        python,
        "-m",
        "piptools",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-find-links",
        *(["--upgrade"] if upgrade else []),
        "--output-file",
        lock.path,
        *lock.inputs,
    ]
    if constraint is not None:
        command[-len(lock.inputs) : -len(lock.inputs)] = ["--constraint", constraint.path]
    environment = {**os.environ, "CUSTOM_COMPILE_COMMAND": "make lock"}
    subprocess.run(command, cwd=ROOT, check=True, env=environment)
    lines = output.read_text().splitlines()
    header = [f"# {lock.description}", f"{DIGEST_PREFIX}{inputs_digest(lock.inputs)}"]
    output.write_text("\n".join([*header, *lines]) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only report stale locks (exit 1 if any)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter with pip-tools installed")
    parser.add_argument("--upgrade", action="store_true", help="newest releases of what the requirements leave open")
    arguments = parser.parse_args(argv)
    if arguments.check:
        found = [problem for lock in LOCKS for problem in problems(lock)]
        print("\n".join(found) or "every lock matches its inputs")
        return 1 if found else 0
    for lock in LOCKS:
        print(f"locking {lock.path} ({lock.description})", flush=True)
        compile_lock(lock, arguments.python, None if lock is PRIMARY else PRIMARY, upgrade=arguments.upgrade)
    return 0


if __name__ == "__main__":
    sys.exit(main())
