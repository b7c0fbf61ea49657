"""Creates what the templates declare, in moto, in dependency order; records each resource's physical ids.

One provisioner per resource type (``registry.PROVISIONERS``, one module per AWS service). Functions,
event source mappings, API Gateway and CloudFront resources are not created in moto: they get
physical ids here and are run by local.functions, local.gateway and local.web.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from local.cfn.assembly import Assembly, ResourceKey
from local.cfn.ordering import dependency_order, with_dependencies
from local.cfn.resolver import PhysicalIds, Resolver
from local.provisioners.base import (
    ACCOUNT,
    SERVICES,
    Context,
    FunctionDefinition,
    Localiser,
    MappingDefinition,
    Provisioned,
    ProvisionSettings,
    SnsLambdaSubscription,
    UnsupportedResource,
    aws_clients,
)
from local.provisioners.cognito import DEMO_USERNAME, create_demo_users
from local.provisioners.registry import PROVISIONERS
from local.provisioners.resource_types import classify

__all__ = [
    "ACCOUNT",
    "DEMO_USERNAME",
    "SERVICES",
    "FunctionDefinition",
    "MappingDefinition",
    "ProvisionSettings",
    "Provisioned",
    "SnsLambdaSubscription",
    "UnsupportedResource",
    "aws_clients",
    "provision",
]


def provision(
    assembly: Assembly,
    clients: dict[str, Any],
    settings: ProvisionSettings,
    *,
    only: Collection[ResourceKey] | None = None,
) -> Provisioned:
    """Creates every resource of the assembly, or only ``only`` and what they refer to (tests use this)."""
    run, ignored, unsupported = classify(assembly)
    if unsupported:
        listed = ", ".join(sorted({f"{r.type} ({r.stack}/{r.logical_id})" for r in unsupported}))
        raise UnsupportedResource(f"the local mode cannot run: {listed}")
    physical = PhysicalIds()
    localise = Localiser(settings)
    provisioned = Provisioned(
        assembly, physical, Resolver(assembly, physical, region=settings.region, account=ACCOUNT), localise
    )
    provisioned.ignored = ignored
    for resource, _ in ignored:
        physical.set_placeholder(resource.key, f"local:{resource.logical_id}")
    if only is not None:
        wanted = with_dependencies(assembly, only)
        run = [resource for resource in run if resource.key in wanted]
    context = Context(settings, clients, provisioned, localise)
    for resource in dependency_order(assembly, run):
        PROVISIONERS[resource.type].create(context, resource)
    create_demo_users(clients["cognito-idp"], provisioned)
    return provisioned
