"""The deployed functions' code: ``lambdas/`` plus its pinned dependencies built for the Lambda runtime.

Nothing is looked up at deploy time. At synth time, without Docker, pip installs the wheels of every pin in
``lambdas/requirements.txt`` (Powertools, pydantic with its compiled pydantic-core, the X-Ray SDK, ...) for
the functions' platform (manylinux aarch64, CPython 3.14) into a cache directory named after the pins and
the platform; each synth copies that directory and the Lambda sources into CDK's bundling output. A second
synth with the same pins downloads nothing, so it works offline once the cache is filled.

boto3 (and what it needs) is not bundled: the Lambda runtime provides it, and the code uses only
long-stable APIs of it. The pins file lists the whole closure of what is bundled (a unit test checks it),
because pip runs with ``--no-deps`` to keep boto3's closure out of the asset.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_SOURCE_DIR = ROOT / "lambdas"
REQUIREMENTS = LAMBDA_SOURCE_DIR / "requirements.txt"
CACHE_DIR = ROOT / ".cache" / "lambda-dependencies"
# Distributions the Lambda runtime provides (with their own dependencies); never copied into the asset.
RUNTIME_PROVIDED = frozenset({"boto3"})
# What of lambdas/ stays out of the asset (the pins files: their packages are installed instead).
SOURCE_EXCLUDES = ("requirements*", "__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache")

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it (``Pydantic_Core`` == ``pydantic-core``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(text: str) -> dict[str, str]:
    """Normalised name -> exact version of every requirement line; anything not pinned with == is refused."""
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("--hash"):
            continue
        match = _PIN.match(line)
        if match is None:
            raise ValueError(f"{REQUIREMENTS.name}: {line!r} is not pinned with ==")
        pins[normalise(match["name"])] = match["version"]
    return pins


@dataclass(frozen=True)
class TargetPlatform:
    """The wheels pip picks for the functions' runtime and architecture."""

    python_version: str = "3.14"
    platform: str = "manylinux2014_aarch64"

    def pip_arguments(self) -> list[str]:
        return [
            "--platform",
            self.platform,
            "--python-version",
            self.python_version,
            "--implementation",
            "cp",
            "--only-binary=:all:",
        ]


def bundled_requirements(pins: dict[str, str]) -> list[str]:
    return [f"{name}=={version}" for name, version in sorted(pins.items()) if name not in RUNTIME_PROVIDED]


def dependencies_dir(
    platform: TargetPlatform, *, cache_dir: Path = CACHE_DIR, requirements: Path = REQUIREMENTS
) -> Path:
    """The installed dependencies for ``platform``, from the cache or installed into it now."""
    wanted = bundled_requirements(pinned_requirements(requirements.read_text()))
    pip_arguments = platform.pip_arguments()
    key = hashlib.sha256(json.dumps([wanted, pip_arguments]).encode()).hexdigest()[:16]
    target = cache_dir / key
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".{key}.{os.getpid()}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--no-compile", "--target", str(staging), *pip_arguments, *wanted]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(
            f"could not install the Lambda dependencies for {platform.platform} / Python {platform.python_version}"
            f" (PyPI must be reachable the first time; then {cache_dir} holds them):\n{result.stderr.strip()}"
        )
    try:
        staging.rename(target)
    except OSError:  # another synth filled the same entry first: theirs is as good
        shutil.rmtree(staging, ignore_errors=True)
    return target


@jsii.implements(ILocalBundling)
class LocalBundler:
    """CDK's local bundling hook: dependencies and sources copied into the asset directory, no Docker."""

    def __init__(self, platform: TargetPlatform) -> None:
        self.platform = platform

    def try_bundle(self, output_dir: str, *_args: object, **_options: object) -> bool:
        output = Path(output_dir)
        shutil.copytree(dependencies_dir(self.platform), output, dirs_exist_ok=True)
        ignore = shutil.ignore_patterns(*SOURCE_EXCLUDES)
        for entry in sorted(LAMBDA_SOURCE_DIR.iterdir()):
            if ignore(str(LAMBDA_SOURCE_DIR), [entry.name]):
                continue
            if entry.is_dir():
                shutil.copytree(entry, output / entry.name, ignore=ignore, dirs_exist_ok=True)
            else:
                shutil.copy2(entry, output / entry.name)
        return True


_BUNDLERS: dict[TargetPlatform, LocalBundler] = {}


def function_code(platform: TargetPlatform) -> lambda_.Code:
    """The one code asset of every function on ``platform``: bundled once per synth (CDK caches it per bundler)."""
    bundler = _BUNDLERS.setdefault(platform, LocalBundler(platform))
    return lambda_.Code.from_asset(
        str(LAMBDA_SOURCE_DIR),
        bundling=BundlingOptions(
            # Never pulled: the local bundler always succeeds or raises, so CDK does not fall back to Docker.
            image=DockerImage.from_registry("local-bundling-only"),
            local=bundler,
        ),
    )
