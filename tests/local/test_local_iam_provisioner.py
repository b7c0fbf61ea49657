"""IAM resources of a template become moto roles with their policies, resolved; functions know their role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from local.cfn.assembly import Assembly, Stack
from local.iam.enforcer import role_policies
from local.iam.policy import Decision, Request, evaluate, statements_of
from local.provisioners import ProvisionSettings, UnsupportedResource, aws_clients, provision

TRUST = {
    "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
}


@pytest.fixture
def clients() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield aws_clients(None, "us-east-1")


def template(**extra_policy: Any) -> dict[str, Any]:
    grant = {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage", "logs:PutLogEvents"],
        "Resource": [{"Fn::GetAtt": ["Queue", "Arn"]}, {"Fn::GetAtt": ["Logs", "Arn"]}],
    }
    return {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": TRUST,
                    "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
                },
            },
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "RoleDefaultPolicy",
                    "PolicyDocument": {"Statement": [grant]},
                    "Roles": [{"Ref": "Role"}],
                    **extra_policy,
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.14",
                    "Handler": "index.handler",
                    "Code": {"ZipFile": "def handler(event, context): pass"},
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                },
                "DependsOn": ["Policy"],
            },
        }
    }


def test_a_function_role_and_its_policy_are_created_resolved(clients: dict[str, Any], tmp_path: Path) -> None:
    # Given a function whose role's policy grants a queue and an (ignored, not emulated) KMS key
    provisioned = provision(
        Assembly(tmp_path, [Stack("Work", template())]), clients, ProvisionSettings(work_dir=tmp_path)
    )
    # When provisioned
    [function] = provisioned.functions
    queue_arn = provisioned.physical.attribute(("Work", "Queue"), "Arn")
    # Then the function knows its role, whose policy in moto names the queue's real ARN
    assert function.role_arn is not None
    assert function.role_arn.startswith("arn:aws:iam::123456789012:role/Work-Role-")
    statements = statements_of(role_policies(function.role_arn))
    assert evaluate(statements, Request("sqs:SendMessage", queue_arn)) is Decision.ALLOW
    # and the grant on the ignored log group names an ARN no local call uses (moto would refuse the placeholder)
    assert json.dumps(statements).count("arn:aws:ignored-locally:::Logs/Arn") == 1
    # AWS managed policies are not in moto: attached nowhere, they grant nothing locally
    role_name = function.role_arn.rsplit("/", 1)[-1]
    assert clients["iam"].list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []


def test_a_policy_for_users_or_groups_stops_the_local_mode(clients: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(UnsupportedResource, match="users or groups"):
        provision(
            Assembly(tmp_path, [Stack("Work", template(Users=["someone"]))]),
            clients,
            ProvisionSettings(work_dir=tmp_path),
        )
