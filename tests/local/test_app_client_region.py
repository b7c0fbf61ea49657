"""The e2e client signs in where the user pool is: the local mode's region, or a deployment's pool's own."""

from __future__ import annotations

from local.tools.client import AppClient


def test_a_deployments_outputs_sign_in_in_the_user_pools_region() -> None:
    outputs = {
        "ImagePipeline-dev-Api": {"ApiUrl": "https://example.execute-api.eu-west-1.amazonaws.com/v1/"},
        "ImagePipeline-dev-Data": {"UserPoolId": "eu-west-1_AbC123", "UserPoolClientId": "client"},
    }
    assert AppClient(outputs, "smoke", "pw").cognito().meta.region_name == "eu-west-1"


def test_the_local_modes_outputs_keep_their_region() -> None:
    outputs = {
        "Local": {"Region": "us-east-1", "AwsEndpointUrl": "http://127.0.0.1:1"},
        "ImagePipeline-dev-Api": {"ApiUrl": "http://127.0.0.1:8000/v1/"},
        "ImagePipeline-dev-Data": {"UserPoolId": "us-east-1_x", "UserPoolClientId": "client"},
    }
    assert AppClient(outputs).cognito().meta.region_name == "us-east-1"
