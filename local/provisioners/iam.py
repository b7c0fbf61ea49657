"""IAM: roles with their inline, attached and separate (``AWS::IAM::Policy``) policies, in moto.

Each local function signs its calls with credentials of its own role (``sts:AssumeRole``, local/app.py),
and local/iam/enforcer.py authorises them against these policies. Policy documents are stored resolved
(``Fn::ImportValue``, ``Fn::GetAtt``... become the physical ARNs). AWS managed policies are not in moto
(``MOTO_IAM_LOAD_MANAGED_POLICIES`` is off): a role's ``arn:aws:iam::aws:policy/...`` grants nothing locally.
"""

from __future__ import annotations

import json
from typing import Any

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner, UnsupportedResource, physical_name

AWS_MANAGED = "arn:aws:iam::aws:policy/"


PLACEHOLDER = "local:"  # how an ignored resource's attributes resolve (local/provisioners/__init__.py)


def _ignored_arn(value: Any) -> Any:
    """A grant on an ignored resource (a log group, a KMS key) names an ARN that no local call uses."""
    if isinstance(value, list):
        return [_ignored_arn(item) for item in value]
    if isinstance(value, str) and value.startswith(PLACEHOLDER):
        return f"arn:aws:ignored-locally:::{value.removeprefix(PLACEHOLDER)}"
    return value


def _document(context: Context, resource: Resource, document: Any) -> str:
    resolved = dict(context.value(resource, document))
    resolved.setdefault("Version", "2012-10-17")  # moto refuses a document without it (CDK always writes it)
    statements = resolved.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        for element in ("Resource", "NotResource"):
            if element in statement:
                statement[element] = _ignored_arn(statement[element])
    return json.dumps(resolved)


def _refuse_users_and_groups(resource: Resource) -> None:
    if resource.properties.get("Users") or resource.properties.get("Groups"):
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: policies of IAM users or groups")


def create_role(context: Context, resource: Resource) -> None:
    props = resource.properties
    iam = context.clients["iam"]
    name = context.text(resource, props["RoleName"]) if "RoleName" in props else physical_name(resource, 64)
    role = iam.create_role(
        RoleName=name,
        Path=str(props.get("Path", "/")),
        AssumeRolePolicyDocument=_document(context, resource, props["AssumeRolePolicyDocument"]),
        MaxSessionDuration=int(props.get("MaxSessionDuration", 3600)),
    )["Role"]
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=name,
            PolicyName=context.text(resource, policy["PolicyName"]),
            PolicyDocument=_document(context, resource, policy["PolicyDocument"]),
        )
    for arn in context.value(resource, props.get("ManagedPolicyArns", [])):
        if not str(arn).startswith(AWS_MANAGED):
            iam.attach_role_policy(RoleName=name, PolicyArn=str(arn))
    context.physical.set(resource.key, name, Arn=str(role["Arn"]), RoleId=str(role["RoleId"]))


def create_policy(context: Context, resource: Resource) -> None:
    props = resource.properties
    _refuse_users_and_groups(resource)
    iam = context.clients["iam"]
    name = context.text(resource, props["PolicyName"])
    document = _document(context, resource, props["PolicyDocument"])
    for role in context.value(resource, props.get("Roles", [])):
        iam.put_role_policy(RoleName=str(role), PolicyName=name, PolicyDocument=document)
    context.physical.set(resource.key, f"{name}-{resource.logical_id}")


def create_managed_policy(context: Context, resource: Resource) -> None:
    props = resource.properties
    _refuse_users_and_groups(resource)
    iam = context.clients["iam"]
    name = (
        context.text(resource, props["ManagedPolicyName"])
        if "ManagedPolicyName" in props
        else physical_name(resource, 128)
    )
    arn = str(
        iam.create_policy(
            PolicyName=name,
            Path=str(props.get("Path", "/")),
            PolicyDocument=_document(context, resource, props["PolicyDocument"]),
        )["Policy"]["Arn"]
    )
    for role in context.value(resource, props.get("Roles", [])):
        iam.attach_role_policy(RoleName=str(role), PolicyArn=arn)
    context.physical.set(resource.key, arn, PolicyArn=arn)


PROVISIONERS = {
    "AWS::IAM::Role": ResourceProvisioner(
        "a moto role with its inline and customer-managed policies; its functions sign with its credentials",
        create_role,
    ),
    "AWS::IAM::Policy": ResourceProvisioner(
        "the policy document, resolved, inline on each of its roles", create_policy
    ),
    "AWS::IAM::ManagedPolicy": ResourceProvisioner(
        "a moto customer-managed policy attached to its roles", create_managed_policy
    ),
}
