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

PSEUDO_PARAMETERS = ("AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix", "AWS::StackName")
NO_VALUE = "AWS::NoValue"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


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
                    for name in _SUB_VARIABLE.findall(text):
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


class PhysicalIds:
    """What each logical resource became locally: its ``Ref`` value and its ``Fn::GetAtt`` attributes."""

    def __init__(self) -> None:
        self._values: dict[ResourceKey, dict[str, Any]] = {}
        self._placeholders: dict[ResourceKey, str] = {}

    def set(self, key: ResourceKey, ref: Any, **attributes: Any) -> None:
        self._values[key] = {"Ref": ref, **attributes}

    def set_placeholder(self, key: ResourceKey, prefix: str) -> None:
        """An ignored resource: any attribute reads as ``<prefix>/<attribute>`` (nothing local uses it)."""
        self._placeholders[key] = prefix

    def update(self, key: ResourceKey, **attributes: Any) -> None:
        self._values[key].update(attributes)

    def has(self, key: ResourceKey) -> bool:
        return key in self._values or key in self._placeholders

    def ref(self, key: ResourceKey) -> Any:
        return self.attribute(key, "Ref")

    def attribute(self, key: ResourceKey, name: str) -> Any:
        values = self._values.get(key)
        if values is None and key in self._placeholders:
            return self._placeholders[key] if name == "Ref" else f"{self._placeholders[key]}/{name}"
        if values is None:
            raise Unresolvable(f"{key[0]}/{key[1]} has not been created")
        if name not in values:
            raise Unresolvable(f"{key[0]}/{key[1]} has no attribute {name}")
        return values[name]


class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::ImportValue, Fn::GetAZs,
    pseudo parameters and parameter defaults against :class:`PhysicalIds`."""

    def __init__(self, assembly: Assembly, physical: PhysicalIds, *, region: str, account: str) -> None:
        self.assembly = assembly
        self.physical = physical
        self.region = region
        self.account = account

    def __call__(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self(stack, v) for v in value) if item is not _REMOVED]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (function, argument), *_ = value.items()
            if function == "Ref" or function.startswith("Fn::"):
                return self._function(stack, function, argument)
        resolved = {key: self(stack, item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _REMOVED}

    def text(self, stack: str, value: Any) -> str:
        resolved = self(stack, value)
        if not isinstance(resolved, str | int | float):
            raise AssemblyError(f"{stack}: expected a string, got {resolved!r}")
        return str(resolved)

    def _function(self, stack: str, function: str, argument: Any) -> Any:
        if function == "Ref":
            return self._ref(stack, str(argument))
        if function == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.physical.attribute((stack, name), self.text(stack, attribute))
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(self.text(stack, part) for part in self(stack, parts))
        if function == "Fn::ImportValue":
            name = self.text(stack, argument)
            if name not in self.assembly.exports:
                raise Unresolvable(f"{stack}: no stack exports {name}")
            exporter, expression = self.assembly.exports[name]
            return self(exporter, expression)
        if function == "Fn::Select":
            index, items = argument
            return self(stack, items)[int(self.text(stack, index))]
        if function == "Fn::Split":
            separator, text = argument
            return self.text(stack, text).split(str(separator))
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        if function == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if function == "Fn::Base64":
            import base64

            return base64.b64encode(self.text(stack, argument).encode()).decode()
        raise AssemblyError(f"{stack}: the local mode cannot resolve {function}")

    def _ref(self, stack: str, name: str) -> Any:
        if name == NO_VALUE:
            return _REMOVED
        if name in PSEUDO_PARAMETERS:
            return {
                "AWS::Region": self.region,
                "AWS::AccountId": self.account,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": stack,
            }[name]
        parameter = self.assembly.stacks[stack].parameters.get(name)
        if parameter is not None:
            # SSM-backed parameters (CDK's bootstrap version, the Powertools layer) have no local value:
            # the name of the parameter stands in for it.
            return parameter.get("Default", "")
        return self.physical.ref((stack, name))

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self(stack, value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name:
                resource, attribute = name.split(".", 1)
                return str(self.physical.attribute((stack, resource), attribute))
            return str(self._ref(stack, name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


class _Removed:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_REMOVED: Any = _Removed()
