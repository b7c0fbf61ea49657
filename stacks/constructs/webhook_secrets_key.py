"""The customer managed key that seals webhook signing secrets at rest.

In words: the key rotates yearly; its policy lets the account's IAM policies grant use of it (the default
root statement) and denies ``kms:Decrypt`` to every principal but the dispatcher's role, whatever its IAM
policies say. Only the API function's role is granted ``kms:Encrypt`` and only the dispatcher's role
``kms:Decrypt``, each on this key alone and only with an encryption context of exactly ``webhookId``
(``wh_...``) and ``owner``: what lambdas/image_pipeline/webhooks/adapters/kms_secrets.py sends.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from image_pipeline.webhooks.adapters.kms_secrets import CONTEXT_KEYS
from stacks.config import EnvironmentConfig

SEAL_ACTIONS = ["kms:Encrypt"]
OPEN_ACTIONS = ["kms:Decrypt"]


def context_conditions() -> dict[str, Any]:
    """A request must carry exactly the adapter's context keys, with a webhook id for a value."""
    return {
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": list(CONTEXT_KEYS)},
        "Null": {f"kms:EncryptionContext:{name}": "false" for name in CONTEXT_KEYS},
        "StringLike": {"kms:EncryptionContext:webhookId": "wh_*"},
    }


class WebhookSecretsKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Seals the signing secrets of users' webhooks ({config.name})",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            # Outside dev the key outlives the stack, like the table whose secrets it seals.
            removal_policy=config.removal_policy,
        )

    def grant_seal(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=SEAL_ACTIONS, resources=[self.key.key_arn], conditions=context_conditions())
        )

    def grant_open(self, role: iam.IRole) -> None:
        """``role`` may decrypt, and no other principal may (an explicit deny in the key policy)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=OPEN_ACTIONS, resources=[self.key.key_arn], conditions=context_conditions())
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheDispatcherDecrypts",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=OPEN_ACTIONS,
                resources=["*"],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": role.role_arn}},
            )
        )
