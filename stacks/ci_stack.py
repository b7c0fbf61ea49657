"""What GitHub Actions needs in an AWS account: GitHub's OIDC provider and three roles, no stored keys.

Deployed once by hand per account and region (``make ci-stack GITHUB_REPOSITORY=owner/name``), apart
from the app: ``cdk synth -c ci=true`` selects it, so ``make synth`` of the app does not change.

- ``DeployRole`` (jobs of the repository's GitHub environments dev/staging/prod): may only assume the CDK
  bootstrap roles of this account and region (``cdk-<qualifier>-*-<account>-<region>``); CloudFormation
  and the bootstrap roles do the deploying.
- ``DiffRole`` (pull requests of the repository): may only assume the bootstrap lookup role, enough for
  ``cdk diff`` to read the deployed templates; a pull request cannot deploy.
- ``SmokeTestRole`` (the same environments): creates, sets the password of and deletes the smoke test's
  user in the app's user pools (ops/smoke_user.py), nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import App, CfnOutput, Duration, Environment, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from stacks.app_builder import PROJECT
from stacks.config import ENVIRONMENTS
from stacks.nag import acknowledge

GITHUB_ISSUER = "token.actions.githubusercontent.com"
# IAM trusts GitHub's issuer through its own store of root CAs; the resource still takes thumbprints
# (GitHub's two published intermediate thumbprints), which IAM ignores for this issuer.
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")
# The default qualifier of `cdk bootstrap`; the bootstrap roles are cdk-<qualifier>-<purpose>-role-<account>-<region>.
BOOTSTRAP_QUALIFIER = "hnb659fds"
SMOKE_TEST_ACTIONS = ["cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminDeleteUser"]
CI_STACK_NAME = f"{PROJECT}-CI"


class CiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: str,
        environments: Sequence[str],
        existing_provider_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise ValueError(f"githubRepository must be owner/name, not {repository!r}")
        provider_arn = existing_provider_arn or (
            iam.OidcProviderNative(
                self,
                "GitHub",
                url=f"https://{GITHUB_ISSUER}",
                client_ids=["sts.amazonaws.com"],
                thumbprints=list(GITHUB_THUMBPRINTS),
            ).oidc_provider_arn
        )
        environment_subjects = [f"repo:{repository}:environment:{name}" for name in environments]
        bootstrap = f"arn:{self.partition}:iam::{self.account}:role/cdk-{BOOTSTRAP_QUALIFIER}"
        self.deploy_role = self._github_role(
            "DeployRole",
            provider_arn,
            environment_subjects,
            "Deploys the app from GitHub Actions: assumes the CDK bootstrap roles only",
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[f"{bootstrap}-*-{self.account}-{self.region}"]),
        )
        self.diff_role = self._github_role(
            "DiffRole",
            provider_arn,
            [f"repo:{repository}:pull_request"],
            "cdk diff on pull requests: assumes the CDK bootstrap lookup role only",
            iam.PolicyStatement(
                actions=["sts:AssumeRole"], resources=[f"{bootstrap}-lookup-role-{self.account}-{self.region}"]
            ),
        )
        self.smoke_test_role = self._github_role(
            "SmokeTestRole",
            provider_arn,
            environment_subjects,
            "Creates and removes the post-deploy smoke test's user in the app's user pools",
            iam.PolicyStatement(
                actions=SMOKE_TEST_ACTIONS,
                resources=[f"arn:{self.partition}:cognito-idp:{self.region}:{self.account}:userpool/*"],
            ),
        )
        # cdk-nag names the resource as rendered: a concrete account and region, or their pseudo parameters
        account = "<AWS::AccountId>" if Token.is_unresolved(self.account) else self.account
        region = "<AWS::Region>" if Token.is_unresolved(self.region) else self.region
        acknowledge(
            self.deploy_role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::{account}:role/cdk-{BOOTSTRAP_QUALIFIER}"
            f"-*-{account}-{region}]",
            "The deploy, file-publishing, image-publishing and lookup roles of `cdk bootstrap` in this account "
            "and region: the only thing the deploy role may do is assume them.",
        )
        acknowledge(
            self.smoke_test_role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cognito-idp:{region}:{account}:userpool/*]",
            "User pool ids are generated per environment at deploy time; the role only creates, sets the "
            "password of and deletes users (the smoke test's own).",
        )
        for name, role in (("DeployRoleArn", self.deploy_role), ("DiffRoleArn", self.diff_role)):
            CfnOutput(self, name, value=role.role_arn)
        CfnOutput(self, "SmokeTestRoleArn", value=self.smoke_test_role.role_arn)

    def _github_role(
        self,
        construct_id: str,
        provider_arn: str,
        subjects: Sequence[str],
        description: str,
        statement: iam.PolicyStatement,
    ) -> iam.Role:
        principal = iam.WebIdentityPrincipal(
            provider_arn,
            conditions={
                # sub is single-valued: a list under StringEquals matches any one of them
                "StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com", f"{GITHUB_ISSUER}:sub": list(subjects)},
            },
        )
        role = iam.Role(
            self, construct_id, assumed_by=principal, description=description, max_session_duration=Duration.hours(1)
        )
        role.add_to_policy(statement)
        return role


def build_ci_app(app: App, *, account: str | None = None, region: str | None = None) -> CiStack:
    """The CI stack alone (``-c ci=true -c githubRepository=owner/name [-c githubOidcProviderArn=arn]``)."""
    repository = app.node.try_get_context("githubRepository")
    if not repository:
        raise ValueError("the CI stack needs -c githubRepository=owner/name")
    stack = CiStack(
        app,
        CI_STACK_NAME,
        repository=str(repository),
        environments=sorted(ENVIRONMENTS),
        existing_provider_arn=app.node.try_get_context("githubOidcProviderArn") or None,
        env=Environment(account=account, region=region),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack
