"""The project's DynamoDB table shape: generic ``pk``/``sk`` keys, on-demand, TTL, sparse string indexes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.config import EnvironmentConfig

TTL_ATTRIBUTE = "expiresAt"


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class IndexSpec(NamedTuple):
    """A global index: its name, keys, and the attributes it projects (``include``; None: every attribute)."""

    name: str
    partition_key: str
    sort_key: str
    include: Sequence[str] | None = None


def _index(spec: IndexSpec) -> dynamodb.GlobalSecondaryIndexPropsV2:
    return dynamodb.GlobalSecondaryIndexPropsV2(
        index_name=spec.name,
        partition_key=_string(spec.partition_key),
        sort_key=_string(spec.sort_key),
        projection_type=dynamodb.ProjectionType.ALL if spec.include is None else dynamodb.ProjectionType.INCLUDE,
        non_key_attributes=None if spec.include is None else list(spec.include),
    )


def single_table(
    scope: Construct,
    *,
    config: EnvironmentConfig,
    indexes: Sequence[tuple[str, str, str] | IndexSpec],
    encryption: dynamodb.TableEncryptionV2 | None = None,
) -> dynamodb.TableV2:
    """A table ``Table`` in ``scope``; ``indexes`` are (name, partition key, sort key[, projected attributes])
    of global indexes."""
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
        global_secondary_indexes=[_index(IndexSpec(*index)) for index in indexes],
    )
