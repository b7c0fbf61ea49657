"""Template values resolved against what each resource became: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, ..."""

from __future__ import annotations

import base64
import re
from typing import Any

from local.cfn.assembly import SUB_VARIABLE, Assembly, AssemblyError, ResourceKey, Unresolvable

PSEUDO_PARAMETERS = ("AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix", "AWS::StackName")
NO_VALUE = "AWS::NoValue"


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

        return SUB_VARIABLE.sub(replace, text).replace("${!", "${")


class _Removed:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_REMOVED: Any = _Removed()
