"""Synthesize an environment once per test session (jsii start-up costs seconds)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import App

from stacks.app_builder import PipelineApp, build_app

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synthesized:
    pipeline: PipelineApp
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack part ("Data", "Recognition") -> template

    def template(self, part: str) -> dict[str, Any]:
        return self.templates[part]


@cache
def synthesize(env: str, **context: str) -> Synthesized:
    outdir = Path(tempfile.mkdtemp(prefix=f"cdk-{env}-"))
    cdk_context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), context={**cdk_context, "env": env, **context})
    pipeline = build_app(app, account="123456789012", region="us-east-1")
    assembly = app.synth()
    templates = {
        stack.stack_name.rsplit("-", 1)[-1]: json.loads(Path(stack.template_full_path).read_text())
        for stack in assembly.stacks
    }
    return Synthesized(pipeline=pipeline, outdir=outdir, templates=templates)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a synthesized template, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only(
    template: dict[str, Any], resource_type: str, where: Callable[[dict[str, Any]], bool] = lambda _: True
) -> tuple[str, dict[str, Any]]:
    """The one resource of that type (that ``where`` accepts): (logical id, resource)."""
    matches = [(lid, res) for lid, res in resources_of(template, resource_type).items() if where(res)]
    assert len(matches) == 1, f"expected one {resource_type}, found {[lid for lid, _ in matches]}"
    return matches[0]
