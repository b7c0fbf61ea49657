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

OWNER_INDEX = "ByOwnerListing"
# The first release's owner index: every attribute projected, the secrets included. DynamoDB cannot change an
# index's projection in place, nor can one deploy both add an index and remove one: a deployment that has it
# keeps it for one deploy (``WebhookConfig.legacy_owner_index``, ``-c webhooksLegacyOwnerIndex=true``) while
# the new one is built, the functions still querying it; the next deploy, without the flag, removes it.
LEGACY_OWNER_INDEX = "ByOwner"


class WebhooksTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        legacy = config.webhooks.legacy_owner_index
        indexes = [IndexSpec(OWNER_INDEX, "gsi1pk", "gsi1sk", include=OWNER_INDEX_ATTRIBUTES)]
        if legacy:
            indexes.insert(0, IndexSpec(LEGACY_OWNER_INDEX, "gsi1pk", "gsi1sk"))
        # The index the functions query: the old one while the new one may still be backfilling.
        self.owner_index = LEGACY_OWNER_INDEX if legacy else OWNER_INDEX
        self.table = single_table(
            self, config=config, indexes=indexes, encryption=dynamodb.TableEncryptionV2.aws_managed_key()
        )
