"""The synthesized cloud assembly (``cdk.out/<env>``): stacks, templates, assets, and values resolved across stacks.

Everything the local mode runs is read from here, so the local mode and a deployment cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ResourceKey = tuple[str, str]
"""(stack name, logical id)."""

SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class AssemblyError(Exception):
    """The assembly is missing, unreadable, or holds something the local mode cannot interpret."""


class Unresolvable(AssemblyError):
    """A value refers to something that has no physical value (yet)."""


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    definition: dict[str, Any]

    @property
    def key(self) -> ResourceKey:
        return (self.stack, self.logical_id)

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.definition.get("Properties", {}))

    @property
    def path(self) -> str:
        """The construct path without the stack and the trailing ``Resource`` (``Recognition/Worker/Function``)."""
        path = str(self.definition.get("Metadata", {}).get("aws:cdk:path", f"{self.stack}/{self.logical_id}"))
        parts = path.split("/")[1:]
        if len(parts) > 1 and parts[-1] == "Resource":
            parts = parts[:-1]
        return "/".join(parts) or self.logical_id


@dataclass(frozen=True)
class Stack:
    name: str
    template: dict[str, Any]
    assets: dict[str, Path] = field(default_factory=dict)  # S3 object key -> path in the assembly

    @property
    def resources(self) -> list[Resource]:
        return [
            Resource(self.name, logical_id, str(definition["Type"]), definition)
            for logical_id, definition in self.template.get("Resources", {}).items()
        ]

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.template.get("Outputs", {}))

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.template.get("Parameters", {}))


class Assembly:
    def __init__(self, directory: Path, stacks: list[Stack]) -> None:
        self.directory = directory
        self.stacks = {stack.name: stack for stack in stacks}  # in deployment order
        self.exports: dict[str, tuple[str, Any]] = {}  # export name -> (stack, value expression)
        for stack in stacks:
            for output in stack.outputs.values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (stack.name, output["Value"])

    @classmethod
    def load(cls, directory: Path) -> Assembly:
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise AssemblyError(f"no cloud assembly at {directory} (run `make synth` or `make local`)")
        artifacts: dict[str, Any] = json.loads(manifest_path.read_text())["artifacts"]
        stack_ids = [aid for aid, art in artifacts.items() if art.get("type") == "aws:cloudformation:stack"]
        ordered: list[str] = []

        def visit(artifact_id: str, seen: tuple[str, ...] = ()) -> None:
            if artifact_id in ordered:
                return
            if artifact_id in seen:
                raise AssemblyError(f"stack dependency cycle through {artifact_id}")
            for dependency in artifacts[artifact_id].get("dependencies", []):
                if dependency in stack_ids:
                    visit(dependency, (*seen, artifact_id))
            ordered.append(artifact_id)

        for artifact_id in stack_ids:
            visit(artifact_id)
        stacks = []
        for artifact_id in ordered:
            properties = artifacts[artifact_id]["properties"]
            template = json.loads((directory / properties["templateFile"]).read_text())
            name = artifacts[artifact_id].get("displayName", artifact_id)
            stacks.append(Stack(str(name), template, _assets_of(directory, artifacts, artifact_id)))
        return cls(directory, stacks)

    def resources(self, resource_type: str | None = None) -> Iterator[Resource]:
        for stack in self.stacks.values():
            for resource in stack.resources:
                if resource_type is None or resource.type == resource_type:
                    yield resource

    def resource(self, key: ResourceKey) -> Resource:
        stack, logical_id = key
        definition = self.stacks[stack].template.get("Resources", {}).get(logical_id)
        if definition is None:
            raise Unresolvable(f"{stack} has no resource {logical_id}")
        return Resource(stack, logical_id, str(definition["Type"]), definition)

    def has_resource(self, key: ResourceKey) -> bool:
        stack, logical_id = key
        return stack in self.stacks and logical_id in self.stacks[stack].template.get("Resources", {})

    def asset(self, stack: str, object_key: str) -> Path:
        """Where the asset published as ``object_key`` (``<hash>.zip``) lies in the assembly."""
        for candidate in self.stacks.values():  # assets are content-addressed: any stack's manifest will do
            if object_key in candidate.assets:
                return candidate.assets[object_key]
        raise AssemblyError(f"{stack}: no asset published as {object_key}")

    def references(self, stack: str, value: Any) -> set[ResourceKey]:
        """The resources a template value refers to (across stacks through Fn::ImportValue)."""
        found: set[ResourceKey] = set()
        resources = self.stacks[stack].template.get("Resources", {})

        def walk(node: Any) -> None:
            if isinstance(node, list):
                for item in node:
                    walk(item)
                return
            if not isinstance(node, dict):
                return
            if len(node) == 1:
                (function, argument), *_ = node.items()
                if function == "Ref" and isinstance(argument, str):
                    if argument in resources:
                        found.add((stack, argument))
                    return
                if function == "Fn::GetAtt":
                    name = argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0]
                    if name in resources:
                        found.add((stack, name))
                    return
                if function == "Fn::ImportValue" and isinstance(argument, str) and argument in self.exports:
                    exporter, expression = self.exports[argument]
                    found.update(self.references(exporter, expression))
                    return
                if function == "Fn::Sub":
                    text, variables = (argument, {}) if isinstance(argument, str) else argument
                    for name in SUB_VARIABLE.findall(text):
                        base = name.split(".", 1)[0]
                        if base in resources and base not in variables:
                            found.add((stack, base))
                    walk(variables)
                    return
            for item in node.values():
                walk(item)

        walk(value)
        return found


def _assets_of(directory: Path, artifacts: Mapping[str, Any], stack_artifact: str) -> dict[str, Path]:
    assets: dict[str, Path] = {}
    for dependency in artifacts[stack_artifact].get("dependencies", []):
        artifact = artifacts.get(dependency, {})
        if artifact.get("type") != "cdk:asset-manifest":
            continue
        manifest = json.loads((directory / artifact["properties"]["file"]).read_text())
        for asset in manifest.get("files", {}).values():
            for destination in asset.get("destinations", {}).values():
                assets[str(destination["objectKey"])] = directory / asset["source"]["path"]
    return assets
