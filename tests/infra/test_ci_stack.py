"""The CI stack: GitHub's OIDC provider and roles that can do only what each workflow job needs."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from cdk_nag import AwsSolutionsChecks

from stacks.ci_stack import CI_STACK_NAME, GITHUB_ISSUER, SMOKE_TEST_ACTIONS, build_ci_app
from tests.support.synth import ROOT, Synthesized, resources_of

REPOSITORY = "example-org/image-pipeline"
ACCOUNT, REGION = "123456789012", "eu-west-1"
ENVIRONMENT_SUBJECTS = [f"repo:{REPOSITORY}:environment:{name}" for name in ("dev", "prod", "staging")]


@cache
def _synthesized(provider_arn: str = "") -> tuple[App, Path, dict[str, Any]]:
    cdk_context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context = {**cdk_context, "ci": "true", "githubRepository": REPOSITORY}
    if provider_arn:
        context["githubOidcProviderArn"] = provider_arn
    outdir = Path(tempfile.mkdtemp(prefix="cdk-ci-"))
    app = App(outdir=str(outdir), context=context)
    build_ci_app(app, account=ACCOUNT, region=REGION)
    assembly = app.synth()
    [stack] = assembly.stacks
    return app, outdir, json.loads(Path(stack.template_full_path).read_text())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _synthesized()[2]


def _role(template: dict[str, Any], logical_prefix: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A role's trust policy and the statements of the policies attached to it."""
    [(logical_id, role)] = [
        (key, r) for key, r in resources_of(template, "AWS::IAM::Role").items() if key.startswith(logical_prefix)
    ]
    statements = [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        if {"Ref": logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    return role["Properties"]["AssumeRolePolicyDocument"], statements


def _resource(statement: dict[str, Any]) -> str:
    resource = statement["Resource"]
    return resource if isinstance(resource, str) else json.dumps(resource)


def test_the_deploy_role_may_only_assume_the_cdk_bootstrap_roles_of_its_account_and_region(
    template: dict[str, Any],
) -> None:
    _, statements = _role(template, "DeployRole")
    assert [s["Action"] for s in statements] == ["sts:AssumeRole"]
    [statement] = statements
    assert statement["Effect"] == "Allow"
    assert f"role/cdk-hnb659fds-*-{ACCOUNT}-{REGION}" in _resource(statement)


def test_only_the_repositorys_environments_may_assume_the_deploy_and_smoke_test_roles(
    template: dict[str, Any],
) -> None:
    for prefix in ("DeployRole", "SmokeTestRole"):
        trust, _ = _role(template, prefix)
        [statement] = trust["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"] == {
            "Ref": next(iter(resources_of(template, "AWS::IAM::OIDCProvider")))
        }
        assert statement["Condition"] == {
            "StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com", f"{GITHUB_ISSUER}:sub": ENVIRONMENT_SUBJECTS}
        }


def test_pull_requests_get_a_role_that_can_only_read_through_the_lookup_role(template: dict[str, Any]) -> None:
    trust, statements = _role(template, "DiffRole")
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{GITHUB_ISSUER}:sub"] == [
        f"repo:{REPOSITORY}:pull_request"
    ]
    [statement] = statements
    assert statement["Action"] == "sts:AssumeRole"
    assert f"role/cdk-hnb659fds-lookup-role-{ACCOUNT}-{REGION}" in _resource(statement)


def test_the_smoke_test_role_only_manages_users_of_user_pools(template: dict[str, Any]) -> None:
    _, statements = _role(template, "SmokeTestRole")
    [statement] = statements
    assert sorted(statement["Action"]) == sorted(SMOKE_TEST_ACTIONS)
    assert f":cognito-idp:{REGION}:{ACCOUNT}:userpool/*" in _resource(statement)


def test_the_provider_is_githubs_for_sts_and_no_key_is_made(template: dict[str, Any]) -> None:
    [provider] = resources_of(template, "AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == f"https://{GITHUB_ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert not resources_of(template, "AWS::IAM::AccessKey")
    assert not resources_of(template, "AWS::IAM::User")
    assert set(template["Outputs"]) >= {"DeployRoleArn", "DiffRoleArn", "SmokeTestRoleArn"}


def test_an_existing_provider_of_the_account_is_reused_not_created_again() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_ISSUER}"
    template = _synthesized(arn)[2]
    assert not resources_of(template, "AWS::IAM::OIDCProvider")
    trust, _ = _role(template, "DeployRole")
    assert trust["Statement"][0]["Principal"]["Federated"] == arn


def test_cdk_nag_and_cfn_lint_find_nothing() -> None:
    app, outdir, _ = _synthesized()
    assert [v.rule_name for v in AwsSolutionsChecks(app).validate_scope(app).violations] == []
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            str(outdir / f"{CI_STACK_NAME}.template.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_app_without_the_ci_flag_has_no_ci_stack(synthesized: Synthesized) -> None:
    assert "CI" not in synthesized.templates
    assert not any(resources_of(t, "AWS::IAM::OIDCProvider") for t in synthesized.templates.values())


def test_a_repository_that_is_not_owner_slash_name_is_refused() -> None:
    app = App(context={"ci": "true", "githubRepository": "just-a-name"})
    with pytest.raises(ValueError, match="owner/name"):
        build_ci_app(app, account=ACCOUNT, region=REGION)
