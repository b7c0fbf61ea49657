"""Cognito: user pools, app clients and groups in moto, and a demo user in every pool."""

from __future__ import annotations

import secrets
import string
from typing import Any

from local.cfn.assembly import Resource
from local.provisioners.base import Context, Provisioned, ResourceProvisioner, physical_name

DEMO_USERNAME = "demo"
_POOL_ARGUMENTS = (
    "Policies",
    "UsernameAttributes",
    "AliasAttributes",
    "AutoVerifiedAttributes",
    "Schema",
    "UsernameConfiguration",
    "AdminCreateUserConfig",
    "AccountRecoverySetting",
)
_CLIENT_ARGUMENTS = (
    "GenerateSecret",
    "ExplicitAuthFlows",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "ReadAttributes",
    "WriteAttributes",
)
_PASSWORD_POLICY = (
    "MinimumLength",
    "RequireUppercase",
    "RequireLowercase",
    "RequireNumbers",
    "RequireSymbols",
    "TemporaryPasswordValidityDays",
)


def demo_password() -> str:
    """Meets any Cognito password policy: long, with every character class."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20)) + "aA1!"


def create_user_pool(context: Context, resource: Resource) -> None:
    props = context.value(resource, resource.properties)
    name = props.get("UserPoolName") or physical_name(resource, 128)
    arguments: dict[str, Any] = {"PoolName": name}
    arguments.update({key: props[key] for key in _POOL_ARGUMENTS if key in props})
    policy = arguments.get("Policies", {}).get("PasswordPolicy")
    if policy:
        arguments["Policies"] = {"PasswordPolicy": {key: policy[key] for key in _PASSWORD_POLICY if key in policy}}
    for attribute in arguments.get("Schema", []):
        constraints = attribute.get("StringAttributeConstraints")
        if constraints:
            attribute["StringAttributeConstraints"] = {k: str(v) for k, v in constraints.items()}
    pool = context.clients["cognito-idp"].create_user_pool(**arguments)["UserPool"]
    pool_id = pool["Id"]
    provider = f"cognito-idp.{context.region}.amazonaws.com/{pool_id}"
    context.provisioned.user_pool_clients[pool_id] = []
    context.physical.set(
        resource.key,
        pool_id,
        Arn=pool["Arn"],
        ProviderName=provider,
        ProviderURL=f"https://{provider}",
        UserPoolId=pool_id,
    )


def create_user_pool_client(context: Context, resource: Resource) -> None:
    props = context.value(resource, resource.properties)
    pool_id = props["UserPoolId"]
    arguments: dict[str, Any] = {
        "UserPoolId": pool_id,
        "ClientName": props.get("ClientName") or physical_name(resource, 128),
    }
    arguments.update({key: context.localise(props[key]) for key in _CLIENT_ARGUMENTS if key in props})
    client = context.clients["cognito-idp"].create_user_pool_client(**arguments)["UserPoolClient"]
    context.provisioned.user_pool_clients.setdefault(pool_id, []).append(client["ClientId"])
    context.physical.set(resource.key, client["ClientId"], ClientId=client["ClientId"], Name=client["ClientName"])


def create_user_pool_group(context: Context, resource: Resource) -> None:
    props = context.value(resource, resource.properties)
    name = props.get("GroupName") or resource.logical_id
    arguments = {"UserPoolId": props["UserPoolId"], "GroupName": name}
    if "Precedence" in props:
        arguments["Precedence"] = int(props["Precedence"])
    context.clients["cognito-idp"].create_group(**arguments)
    context.physical.set(resource.key, name)


def create_demo_users(cognito: Any, provisioned: Provisioned) -> None:
    """The same demo user, with one random password, in every user pool."""
    if not provisioned.user_pool_clients:
        return
    password = demo_password()
    for pool_id in provisioned.user_pool_clients:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=DEMO_USERNAME,
            UserAttributes=[
                {"Name": "email", "Value": "demo@example.com"},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=DEMO_USERNAME, Password=password, Permanent=True)
    provisioned.demo_password = password


PROVISIONERS = {
    "AWS::Cognito::UserPool": ResourceProvisioner(
        "a moto user pool (password policy, sign-in aliases) with a demo user", create_user_pool
    ),
    "AWS::Cognito::UserPoolClient": ResourceProvisioner(
        "a moto app client with its auth flows", create_user_pool_client
    ),
    "AWS::Cognito::UserPoolGroup": ResourceProvisioner("a moto group", create_user_pool_group),
}
