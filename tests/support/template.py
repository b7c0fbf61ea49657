"""Reading resources and values out of synthesized CloudFormation templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Template = dict[str, Any]


def resources_of(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only(
    template: Template, resource_type: str, where: Callable[[dict[str, Any]], bool] = lambda _: True
) -> tuple[str, dict[str, Any]]:
    matches = [(lid, res) for lid, res in resources_of(template, resource_type).items() if where(res)]
    assert len(matches) == 1, f"expected one {resource_type}, found {[lid for lid, _ in matches]}"
    return matches[0]


class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::ImportValue and Fn::Join against known physical values."""

    def __init__(self, templates: dict[str, Template], physical: dict[str, dict[str, str]]) -> None:
        # physical: logical id -> {"Ref": ..., "Arn": ..., ...}
        self._physical = physical
        self._exports: dict[str, Any] = {}
        for template in templates.values():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self._exports[name] = output["Value"]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, list):
            return [self(item) for item in value]
        (function, argument), *_ = value.items()
        if function == "Ref":
            return self._physical[argument]["Ref"]
        if function == "Fn::GetAtt":
            return self._physical[argument[0]][argument[1]]
        if function == "Fn::ImportValue":
            return self(self._exports[argument])
        if function == "Fn::Join":
            return argument[0].join(str(self(part)) for part in argument[1])
        raise ValueError(f"cannot resolve {function}")
