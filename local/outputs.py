"""Stack outputs in the shape of ``cdk deploy --outputs-file``, plus the local mode's own entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.provisioners import Provisioned

LOCAL_ENTRY = "Local"


def stack_outputs(provisioned: Provisioned) -> dict[str, dict[str, Any]]:
    return {
        stack.name: {key: provisioned.value(stack.name, output["Value"]) for key, output in stack.outputs.items()}
        for stack in provisioned.assembly.stacks.values()
    }


def write_outputs(path: Path, outputs: dict[str, dict[str, Any]], local: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**outputs, LOCAL_ENTRY: local}, indent=2) + "\n")
    temporary.replace(path)  # readers never see half a file
