"""What the local mode adds to every function's own environment variables."""

from __future__ import annotations

from typing import Any

# Local-only settings the templates leave at their safe defaults: webhooks may go to a receiver on this
# machine over plain HTTP (the function's own variables still win). The handler tests use them too.
LOCAL_SETTINGS = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128"}
CREDENTIALS = ("local", "local")  # the administrator's key: the provisioner, the tools, a function without a role


def base_environment(endpoint: str, region: str, rekognition_endpoint: str | None) -> dict[str, str]:
    """The emulator's endpoint and credentials, no X-Ray daemon, and :data:`LOCAL_SETTINGS`."""
    base = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": CREDENTIALS[0],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS[1],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        **LOCAL_SETTINGS,
    }
    if rekognition_endpoint is not None:
        base["AWS_ENDPOINT_URL_REKOGNITION"] = rekognition_endpoint
    return base


def role_credentials(sts: Any, role_arn: str, session_name: str) -> dict[str, str]:
    """Temporary credentials of ``role_arn`` from moto's STS, as Lambda puts its role's into the environment.

    Calls signed with them are authorised against the role's policies (local/iam/enforcer.py).
    """
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=43200)
    credentials = issued["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": str(credentials["AccessKeyId"]),
        "AWS_SECRET_ACCESS_KEY": str(credentials["SecretAccessKey"]),
        "AWS_SESSION_TOKEN": str(credentials["SessionToken"]),
    }
