"""The webhooks table: subscriptions (with their signing secrets) and delivery records with their attempts.

Keys and items: lambdas/image_pipeline/webhooks/adapters/webhooks_table.py. The secrets are sealed with the
integration stack's webhook secrets key before they are written, and the owner index projects only what a
listing shows (never the secrets).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from image_pipeline.webhooks.adapters.webhooks_table import OWNER_INDEX_ATTRIBUTES
from stacks.config import EnvironmentConfig
from stacks.constructs.single_table import IndexSpec, single_table

OWNER_INDEX = "ByOwner"


class WebhooksTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.owner_index = OWNER_INDEX
        self.table = single_table(
            self,
            config=config,
            indexes=[IndexSpec(OWNER_INDEX, "gsi1pk", "gsi1sk", include=OWNER_INDEX_ATTRIBUTES)],
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
        )
