"""The webhooks table: subscriptions (with their signing secrets) and delivery records with their attempts.

Keys and items: lambdas/image_pipeline/adapters/webhooks_table.py. Secrets rest under KMS encryption.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.config import EnvironmentConfig

OWNER_INDEX = "ByOwner"
TTL_ATTRIBUTE = "expiresAt"


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class WebhooksTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.owner_index = OWNER_INDEX
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=_string("pk"),
            sort_key=_string("sk"),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=config.point_in_time_recovery
            ),
            deletion_protection=config.removal_policy == RemovalPolicy.RETAIN,
            removal_policy=config.removal_policy,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=OWNER_INDEX, partition_key=_string("gsi1pk"), sort_key=_string("gsi1sk")
                ),
            ],
        )
