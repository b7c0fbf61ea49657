"""DynamoDB: tables with their keys, indexes, TTL and stream."""

from __future__ import annotations

from typing import Any

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner


def create_table(context: Context, resource: Resource) -> None:
    props = resource.properties
    name = context.name(resource, "TableName", 255)
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    for source in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = [
            {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
            for index in props.get(source, [])
        ]
        if indexes:
            arguments[source] = indexes
    stream = props.get("StreamSpecification")
    if stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    dynamodb = context.clients["dynamodb"]
    table = dynamodb.create_table(**arguments)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    context.physical.set(resource.key, name, Arn=table["TableArn"], StreamArn=table.get("LatestStreamArn", ""))


_TABLE = ResourceProvisioner("a moto table with its keys, indexes, TTL and stream", create_table)
PROVISIONERS = {"AWS::DynamoDB::GlobalTable": _TABLE, "AWS::DynamoDB::Table": _TABLE}
