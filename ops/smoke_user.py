"""The post-deploy smoke test's user: created through the user pool's admin API, removed afterwards.

    python -m ops.smoke_user --outputs cdk-outputs-dev.json -- pytest tests/e2e/test_local_pipeline.py

creates a user with a random password in the deployment's user pool (no invitation e-mail), runs the
command with ``E2E_OUTPUTS_FILE``, ``E2E_USERNAME`` and ``E2E_PASSWORD`` set (what tests/e2e reads),
deletes the user whatever the command did, and exits with the command's status. The caller needs
cognito-idp:AdminCreateUser, AdminSetUserPassword and AdminDeleteUser (the CI stack's SmokeTestRole).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from ops.deployment import output_value
from stacks import outputs


@dataclass(frozen=True)
class SmokeUser:
    username: str
    password: str


def new_password() -> str:
    """Random, and meets any Cognito password policy: upper and lower case, digits and a symbol."""
    return f"{secrets.token_urlsafe(24)}aA1!"


def user_pool_region(user_pool_id: str) -> str:
    """A user pool id starts with its region (``eu-west-1_AbC123``)."""
    return user_pool_id.split("_", 1)[0]


@contextmanager
def smoke_user(cognito: Any, user_pool_id: str) -> Iterator[SmokeUser]:
    """A confirmed user that can sign in with USER_PASSWORD_AUTH at once, deleted on the way out."""
    user = SmokeUser(username=f"smoke-{uuid.uuid4().hex[:12]}", password=new_password())
    cognito.admin_create_user(
        UserPoolId=user_pool_id,
        Username=user.username,
        MessageAction="SUPPRESS",
        TemporaryPassword=new_password(),
    )
    try:
        cognito.admin_set_user_password(
            UserPoolId=user_pool_id, Username=user.username, Password=user.password, Permanent=True
        )
        yield user
    finally:
        cognito.admin_delete_user(UserPoolId=user_pool_id, Username=user.username)


def run_with_user(
    cognito: Any,
    outputs_file: Path,
    command: Sequence[str],
    run: Callable[[Sequence[str], Mapping[str, str]], int],
) -> int:
    """Runs ``command`` with a fresh smoke user in the environment; returns its exit status."""
    user_pool_id = output_value(json.loads(outputs_file.read_text()), outputs.USER_POOL_ID)
    with smoke_user(cognito, user_pool_id) as user:
        environment = {
            **os.environ,
            "E2E_OUTPUTS_FILE": str(outputs_file.resolve()),
            "E2E_USERNAME": user.username,
            "E2E_PASSWORD": user.password,
        }
        return run(command, environment)


def _subprocess(command: Sequence[str], environment: Mapping[str, str]) -> int:
    return subprocess.run(list(command), env=dict(environment), check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outputs", type=Path, required=True, help="the deployment's cdk-outputs-<env>.json")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run as the user")
    arguments = parser.parse_args(argv)
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    if not command:
        parser.error("give the command to run after --")
    user_pool_id = output_value(json.loads(arguments.outputs.read_text()), outputs.USER_POOL_ID)
    cognito = boto3.client("cognito-idp", region_name=user_pool_region(user_pool_id))
    return run_with_user(cognito, arguments.outputs, command, _subprocess)


if __name__ == "__main__":
    sys.exit(main())
