"""What every ops command reads of a deployment: its outputs file (``cdk deploy --outputs-file``, or the local
mode's ``.local/cdk-outputs.json``) and clients for it."""

from __future__ import annotations

from typing import Any

import boto3


def output_value(document: dict[str, Any], key: str) -> str:
    """A stack output found by its key across stacks (stack names differ per environment)."""
    for values in document.values():
        if isinstance(values, dict) and key in values:
            return str(values[key])
    raise KeyError(f"no output {key} in the outputs file")


def client_for(document: dict[str, Any], service: str) -> Any:
    """A client for the deployment the outputs file describes: the local mode's emulator (its endpoint is in
    the file; it takes any credentials), or AWS with the caller's profile."""
    local = document.get("Local")
    if not local:
        return boto3.client(service)
    return boto3.client(
        service,
        endpoint_url=local["AwsEndpointUrl"],
        region_name=local.get("Region", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
