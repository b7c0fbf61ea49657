"""The environment's fixed webhook endpoint: its signing secret, generated in Secrets Manager under a CMK."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.config import EnvironmentConfig


class WebhookEndpointSecret(Construct):
    """32 letters and digits, read as base64 by Standard Webhooks libraries: the receiver uses ``whsec_<value>``.

    To rotate, put ``<new> <old>`` (space-separated) for 24 hours: the dispatcher signs with both.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description=f"Signing secret of the {config.name} webhook endpoint {config.webhooks.endpoint_url}",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY
            if config.removal_policy == RemovalPolicy.DESTROY
            else RemovalPolicy.RETAIN,
        )
