"""Every requirements file has a lock with hashes that was made from its current contents (`make lock`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.locks import DIGEST_PREFIX, LOCKS, Lock, inputs_digest, problems
from tests.support.synth import ROOT


@pytest.mark.parametrize("lock", LOCKS, ids=[lock.path for lock in LOCKS])
def test_each_lock_matches_its_requirements_files(lock: Lock) -> None:
    assert problems(lock) == []


def test_every_requirements_file_is_an_input_of_a_lock() -> None:
    requirements = {
        str(p.relative_to(ROOT)) for p in [*ROOT.glob("requirements*.txt"), ROOT / "lambdas/requirements.txt"]
    }
    assert requirements <= {name for lock in LOCKS for name in lock.inputs}


def _project(tmp_path: Path, pins: str) -> Lock:
    (tmp_path / "base.txt").write_text("boto3==1.44.5\n")
    (tmp_path / "requirements.txt").write_text(f"-r base.txt\n{pins}")
    lock = Lock("requirements.lock", ("requirements.txt",), "test")
    locked = "boto3==1.44.5 \\\n    --hash=sha256:aa\nrequests[socks]==2.32.0 \\\n    --hash=sha256:bb\n"
    (tmp_path / lock.path).write_text(f"{DIGEST_PREFIX}{inputs_digest(lock.inputs, tmp_path)}\n{locked}")
    return lock


def test_a_lock_made_from_the_current_files_passes(tmp_path: Path) -> None:
    lock = _project(tmp_path, "requests[socks]==2.32.0\n")
    assert problems(lock, tmp_path) == []


def test_a_pin_changed_after_locking_makes_the_lock_stale(tmp_path: Path) -> None:
    # Given a lock made from the requirements / When a pin in an included file changes
    lock = _project(tmp_path, "requests[socks]==2.32.0\n")
    (tmp_path / "base.txt").write_text("boto3==1.44.6\n")
    # Then the lock is reported stale, naming the pin it locks at another version
    found = problems(lock, tmp_path)
    assert any("stale" in problem for problem in found)
    assert any("boto3==1.44.6" in problem and "1.44.5" in problem for problem in found)


def test_a_lock_edited_by_hand_to_another_version_is_caught(tmp_path: Path) -> None:
    lock = _project(tmp_path, "requests[socks]==2.31.0\n")
    # the digest is recomputed as if the lock were fresh, but its pin differs from the requirement
    text = (tmp_path / lock.path).read_text().splitlines()
    text[0] = f"{DIGEST_PREFIX}{inputs_digest(lock.inputs, tmp_path)}"
    (tmp_path / lock.path).write_text("\n".join(text) + "\n")
    assert problems(lock, tmp_path) == ["requirements.lock: requests==2.31.0 of requirements.txt is locked as 2.32.0"]


def test_a_missing_lock_is_reported(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("boto3==1.44.5\n")
    assert problems(Lock("requirements.lock", ("requirements.txt",), "test"), tmp_path) == [
        "requirements.lock is missing: run `make lock`"
    ]


def test_a_local_build_of_the_pinned_release_matches(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("torch==2.13.0\n")
    lock = Lock("requirements.lock", ("requirements.txt",), "test")
    digest = inputs_digest(lock.inputs, tmp_path)
    (tmp_path / lock.path).write_text(f"{DIGEST_PREFIX}{digest}\ntorch==2.13.0+cpu \\\n    --hash=sha256:cc\n")
    assert problems(lock, tmp_path) == []


def test_make_installs_the_development_lock_with_hashes_required() -> None:
    makefile = (ROOT / "Makefile").read_text()
    rule = makefile[makefile.index("$(VENV)/.installed:") :].split("\n\n", 1)[0]
    assert rule.splitlines()[0] == "$(VENV)/.installed: requirements-dev.lock"
    installs = [line for line in rule.splitlines() if "pip install" in line]
    assert installs
    assert all("--require-hashes -r requirements-dev.lock" in line for line in installs)
