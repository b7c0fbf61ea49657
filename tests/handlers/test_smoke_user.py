"""The post-deploy smoke test's user (ops/smoke_user.py), against moto's Cognito user pools."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.smoke_user import run_with_user, user_pool_region

REGION = "eu-west-1"


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[tuple[Any, str, str, Path]]:
    """A user pool like the Data stack's (admin-created users, USER_PASSWORD_AUTH) and its outputs file."""
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool_id = cognito.create_user_pool(
            PoolName="users",
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
        )["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        outputs = tmp_path / "cdk-outputs-dev.json"
        outputs.write_text(
            json.dumps(
                {
                    "ImagePipeline-dev-Data": {"UserPoolId": pool_id, "UserPoolClientId": client_id},
                    "ImagePipeline-dev-Api": {"ApiUrl": "https://example.execute-api.eu-west-1.amazonaws.com/v1/"},
                }
            )
        )
        yield cognito, pool_id, client_id, outputs


def _usernames(cognito: Any, pool_id: str) -> list[str]:
    return [user["Username"] for user in cognito.list_users(UserPoolId=pool_id)["Users"]]


def test_the_command_runs_as_a_new_user_who_can_sign_in_and_is_gone_afterwards(
    pool: tuple[Any, str, str, Path],
) -> None:
    cognito, pool_id, client_id, outputs = pool
    seen: dict[str, Any] = {}

    def command(argv: Sequence[str], environment: Mapping[str, str]) -> int:
        # While the command runs, the user exists and signs in with the password it was given
        seen["argv"] = list(argv)
        seen["outputs"] = environment["E2E_OUTPUTS_FILE"]
        seen["users"] = _usernames(cognito, pool_id)
        answer = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": environment["E2E_USERNAME"], "PASSWORD": environment["E2E_PASSWORD"]},
        )
        seen["signed_in"] = "IdToken" in answer["AuthenticationResult"]
        seen["username"] = environment["E2E_USERNAME"]
        return 0

    # Given a deployment's outputs file / When the smoke test runs as its user
    status = run_with_user(cognito, outputs, ["pytest", "tests/e2e"], command)
    # Then the command saw the outputs file and a signed-in user, and the user is removed afterwards
    assert status == 0
    assert seen["argv"] == ["pytest", "tests/e2e"]
    assert seen["outputs"] == str(outputs.resolve())
    assert seen["users"] == [seen["username"]]
    assert seen["signed_in"] is True
    assert _usernames(cognito, pool_id) == []


def test_a_failing_command_still_removes_the_user_and_its_status_is_returned(
    pool: tuple[Any, str, str, Path],
) -> None:
    cognito, pool_id, _, outputs = pool
    # Given a smoke test that fails / When it runs / Then its status comes back and no user is left
    assert run_with_user(cognito, outputs, ["false"], lambda argv, env: 1) == 1
    assert _usernames(cognito, pool_id) == []


def test_a_crashing_command_still_removes_the_user(pool: tuple[Any, str, str, Path]) -> None:
    cognito, pool_id, _, outputs = pool

    def crash(argv: Sequence[str], environment: Mapping[str, str]) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_with_user(cognito, outputs, ["pytest"], crash)
    assert _usernames(cognito, pool_id) == []


def test_the_region_comes_from_the_user_pool_id() -> None:
    assert user_pool_region("eu-west-1_AbC123xyz") == "eu-west-1"
