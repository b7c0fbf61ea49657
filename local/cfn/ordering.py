"""In which order resources are created: every resource after the resources its properties refer to."""

from __future__ import annotations

from collections.abc import Iterable

from local.cfn.assembly import Assembly, AssemblyError, Resource, ResourceKey


def dependency_order(assembly: Assembly, resources: Iterable[Resource]) -> list[Resource]:
    """``resources`` so that each comes after those of them it refers to (across stacks too)."""
    listed = list(resources)
    by_key = {resource.key: resource for resource in listed}
    done: set[ResourceKey] = set()
    visiting: set[ResourceKey] = set()
    ordered: list[Resource] = []

    def visit(resource: Resource) -> None:
        if resource.key in done:
            return
        if resource.key in visiting:
            raise AssemblyError(f"dependency cycle through {resource.stack}/{resource.logical_id}")
        visiting.add(resource.key)
        for dependency in sorted(assembly.references(resource.stack, resource.properties)):
            if dependency in by_key:
                visit(by_key[dependency])
        visiting.discard(resource.key)
        done.add(resource.key)
        ordered.append(resource)

    for resource in listed:
        visit(resource)
    return ordered


def with_dependencies(assembly: Assembly, keys: Iterable[ResourceKey]) -> set[ResourceKey]:
    """``keys`` and every resource they refer to, directly or not."""
    found: set[ResourceKey] = set()
    pending = list(keys)
    while pending:
        key = pending.pop()
        if key in found:
            continue
        found.add(key)
        pending.extend(assembly.references(key[0], assembly.resource(key).properties) - found)
    return found
