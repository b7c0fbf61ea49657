"""The GitHub Actions workflows: actionlint finds nothing, and what matters for credentials and order holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.synth import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def _actionlint(repository: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ACTIONLINT), "-no-color"], cwd=repository, capture_output=True, text=True, check=False)


def _workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_actionlint_finds_nothing_in_the_workflows(tmp_path: Path) -> None:
    result = _actionlint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_on_a_broken_workflow(tmp_path: Path) -> None:
    # Given the workflows with a misspelt runner key in one job
    repository = _copy(tmp_path)
    ci = repository / ".github" / "workflows" / "ci.yml"
    ci.write_text(ci.read_text().replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", 1))
    # When actionlint runs / Then it fails and names the file
    result = _actionlint(repository)
    assert result.returncode != 0
    assert "ci.yml" in result.stdout


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_pull_requests_run_the_readme_test_command_and_synth_every_environment() -> None:
    ci = _workflow("ci.yml")
    assert "pull_request" in ci[True]  # YAML 1.1 reads the key `on` as True
    runs = [step.get("run", "") for step in _steps(ci)]
    assert "make test" in runs
    assert "make synth" in runs
    assert ci["jobs"]["diff"]["strategy"]["matrix"]["environment"] == ["dev", "staging", "prod"]


def test_aws_credentials_come_from_oidc_with_pinned_actions_never_from_stored_keys() -> None:
    texts = [path.read_text() for path in [*WORKFLOWS.glob("*.yml"), ROOT / ".github/actions/setup/action.yml"]]
    assert not any("aws-access-key-id" in text or "AWS_SECRET_ACCESS_KEY" in text for text in texts)
    uses = [
        step["uses"]
        for name in ("ci.yml", "deploy-environment.yml")
        for step in _steps(_workflow(name))
        if "uses" in step
    ]
    credentials = [use for use in uses if use.startswith("aws-actions/configure-aws-credentials@")]
    assert credentials
    # pinned to a full version (vX.Y.Z) or a commit, not a moving major tag or a branch
    for use in uses:
        if not use.startswith("./"):
            ref = use.split("@", 1)[1]
            assert ref.count(".") == 2 or len(ref) == 40, use
    assert _workflow("deploy-environment.yml")["permissions"]["id-token"] == "write"
    assert _workflow("ci.yml")["jobs"]["diff"]["permissions"]["id-token"] == "write"
    assert "id-token" not in _workflow("ci.yml")["permissions"]


def test_main_deploys_dev_then_staging_then_prod_each_as_a_github_environment_with_a_smoke_test() -> None:
    deploy = _workflow("deploy.yml")
    assert deploy[True]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["dev"]["needs"] == "checks"
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"
    assert [jobs[name]["with"]["environment"] for name in ("dev", "staging", "prod")] == ["dev", "staging", "prod"]
    job = _workflow("deploy-environment.yml")["jobs"]["deploy"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    runs = [step.get("run", "") for step in job["steps"]]
    assert runs.index('make smoke ENV="$ENVIRONMENT"') > next(i for i, run in enumerate(runs) if "make deploy" in run)


def test_dependabot_watches_pip_npm_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {update["package-ecosystem"] for update in config["updates"]} == {"pip", "npm", "github-actions"}
