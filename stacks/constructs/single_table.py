"""The project's DynamoDB table shape: generic ``pk``/``sk`` keys, on-demand, TTL, sparse string indexes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.config import EnvironmentConfig

TTL_ATTRIBUTE = "expiresAt"


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def single_table(
    scope: Construct,
    *,
    config: EnvironmentConfig,
    indexes: Sequence[tuple[str, str, str]],
    encryption: dynamodb.TableEncryptionV2 | None = None,
) -> dynamodb.TableV2:
    """A table ``Table`` in ``scope``; ``indexes`` are (name, partition key, sort key) of global indexes."""
    return dynamodb.TableV2(
        scope,
        "Table",
        partition_key=_string("pk"),
        sort_key=_string("sk"),
        billing=dynamodb.Billing.on_demand(),
        encryption=encryption,
        time_to_live_attribute=TTL_ATTRIBUTE,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=config.point_in_time_recovery
        ),
        deletion_protection=config.removal_policy == RemovalPolicy.RETAIN,
        removal_policy=config.removal_policy,
        global_secondary_indexes=[
            dynamodb.GlobalSecondaryIndexPropsV2(index_name=name, partition_key=_string(pk), sort_key=_string(sk))
            for name, pk, sk in indexes
        ],
    )
