"""The functions' dependencies: pinned completely, the same in tests and local mode, installed once per pin set."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from stacks import lambda_bundle
from stacks.constructs.pipeline_function import PLATFORM
from stacks.lambda_bundle import (
    REQUIREMENTS,
    RUNTIME_PROVIDED,
    TargetPlatform,
    bundled_requirements,
    dependencies_dir,
    normalise,
    pinned_requirements,
)

# The environment markers of the Lambda runtime the wheels are built for.
LAMBDA_MARKERS = {"python_version": "3.14", "platform_machine": "aarch64", "sys_platform": "linux"}


def _closure(roots: dict[str, set[str]]) -> set[str]:
    """Every distribution that ``roots`` (name -> extras asked for) need on the Lambda runtime, from the venv."""
    seen: set[str] = set()
    pending = list(roots.items())
    while pending:
        name, extras = pending.pop()
        key = f"{name}{sorted(extras)}"
        if key in seen:
            continue
        seen.add(key)
        for line in metadata.distribution(name).requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({**LAMBDA_MARKERS, "extra": extra}) for extra in extras | {""}
            )
            if wanted:
                pending.append((normalise(requirement.name), set(requirement.extras)))
    return {key.split("[", 1)[0] for key in seen}


def test_the_functions_platform_is_the_runtime_and_architecture_they_run_on() -> None:
    assert TargetPlatform(python_version="3.14", platform="manylinux2014_aarch64") == PLATFORM


def test_every_pin_is_installed_here_at_the_same_version_so_tests_and_local_mode_run_what_the_cloud_runs() -> None:
    for name, version in pinned_requirements(REQUIREMENTS.read_text()).items():
        assert metadata.version(name) == version, name


def test_everything_the_bundled_distributions_need_is_pinned_or_comes_with_the_runtimes_boto3() -> None:
    # Given the pins (pip installs them with --no-deps) and what the Lambda runtime provides
    text = REQUIREMENTS.read_text()
    pins = pinned_requirements(text)
    extras = {normalise(r.name): set(r.extras) for r in map(Requirement, _requirement_lines(text))}
    bundled = {name: extras[name] for name in pins if name not in RUNTIME_PROVIDED}
    provided = _closure({name: set() for name in RUNTIME_PROVIDED})
    # Then nothing the bundled code imports at run time is missing from the asset
    assert _closure(bundled) - set(bundled) - provided == set()


def _requirement_lines(text: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def test_unpinned_requirements_are_refused() -> None:
    with pytest.raises(ValueError, match="not pinned"):
        pinned_requirements("pydantic>=2\n")
    assert pinned_requirements("Pydantic_Core==2.1 ; python_version>'3'\n# c\n") == {"pydantic-core": "2.1"}


def test_boto3_stays_out_of_the_bundle() -> None:
    assert bundled_requirements({"boto3": "1", "pydantic": "2"}) == ["pydantic==2"]


class FakePip:
    """Stands in for ``pip install --target``: records the command and writes one file into the target."""

    def __init__(self, returncode: int = 0) -> None:
        self.commands: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        target = Path(command[command.index("--target") + 1])
        if self.returncode == 0:
            target.mkdir(parents=True)
            (target / "installed.txt").write_text(" ".join(command))
        return subprocess.CompletedProcess(command, self.returncode, "", "ERROR: no matching distribution")


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("aws-lambda-powertools[tracer]==3.37.0\npydantic-core==2.50.5\nboto3==1.44.5\n")
    return path


def test_the_wheels_are_installed_once_for_the_platform_then_taken_from_the_cache(
    tmp_path: Path, requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(lambda_bundle.subprocess, "run", pip)
    # When two synths ask for the same pins and platform
    first = dependencies_dir(PLATFORM, cache_dir=tmp_path / "cache", requirements=requirements)
    second = dependencies_dir(PLATFORM, cache_dir=tmp_path / "cache", requirements=requirements)
    # Then pip ran once, for aarch64 / CPython 3.14 binary wheels only, without boto3 or dependency resolution
    assert first == second
    assert len(pip.commands) == 1
    command = " ".join(pip.commands[0])
    for argument in ("--platform manylinux2014_aarch64", "--python-version 3.14", "--implementation cp"):
        assert argument in command
    assert "--only-binary=:all:" in command
    assert "--no-deps" in command
    assert "aws-lambda-powertools==3.37.0" in command
    assert "pydantic-core==2.50.5" in command
    assert "boto3" not in command
    # And a changed pin is installed afresh
    requirements.write_text("aws-lambda-powertools==3.38.0\n")
    assert dependencies_dir(PLATFORM, cache_dir=tmp_path / "cache", requirements=requirements) != first
    assert len(pip.commands) == 2


def test_a_failed_install_says_why_and_leaves_no_cache_entry(
    tmp_path: Path, requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambda_bundle.subprocess, "run", FakePip(returncode=1))
    with pytest.raises(RuntimeError, match="no matching distribution"):
        dependencies_dir(PLATFORM, cache_dir=tmp_path / "cache", requirements=requirements)
    assert list((tmp_path / "cache").iterdir()) == []
