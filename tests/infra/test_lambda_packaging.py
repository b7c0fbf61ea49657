"""The deployed functions carry their dependencies: nothing looked up at deploy time, wheels built for arm64."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.cfn.assembly import Assembly
from stacks.lambda_bundle import REQUIREMENTS, pinned_requirements
from tests.support.synth import Synthesized, resources_of

EM_AARCH64 = 183  # ELF e_machine of 64-bit ARM
CDK_BOOTSTRAP_VERSION = "/cdk-bootstrap/hnb659fds/version"


def _pipeline_functions(synthesized: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """Every function of ours (CDK's own custom-resource handlers are not made by PipelineFunction)."""
    return [
        (part, function)
        for part, template in synthesized.templates.items()
        for function in resources_of(template, "AWS::Lambda::Function").values()
        if str(function["Properties"].get("Handler", "")).startswith("image_pipeline.")
    ]


def _code_dir(synthesized: Synthesized) -> Path:
    keys = {json.dumps(function["Properties"]["Code"]["S3Key"]) for _, function in _pipeline_functions(synthesized)}
    assert len(keys) == 1, "every function ships the same code asset"
    return Assembly.load(synthesized.outdir).asset("any stack", json.loads(keys.pop()))


def _dist_version(code: Path, distribution: str) -> str:
    (info,) = code.glob(f"{distribution}-*.dist-info")
    fields = dict(line.split(": ", 1) for line in (info / "METADATA").read_text().splitlines() if ": " in line)
    return fields["Version"]


def test_no_function_takes_a_layer_or_a_parameter_resolved_at_deploy_time(synthesized: Synthesized) -> None:
    functions = _pipeline_functions(synthesized)
    assert len(functions) >= 3  # worker, API, webhook dispatcher
    for part, function in functions:
        assert "Layers" not in function["Properties"], part
    for part, template in synthesized.templates.items():
        ssm_parameters = {
            name: parameter.get("Default")
            for name, parameter in template.get("Parameters", {}).items()
            if "SSM::Parameter" in parameter["Type"]
        }
        # Only CDK's own bootstrap version, which `make doctor` checks before a deploy
        assert set(ssm_parameters.values()) <= {CDK_BOOTSTRAP_VERSION}, part


def test_the_code_carries_powertools_and_its_dependencies_at_the_pinned_versions(synthesized: Synthesized) -> None:
    code = _code_dir(synthesized)
    pins = pinned_requirements(REQUIREMENTS.read_text())
    assert (code / "image_pipeline" / "handlers").is_dir()
    for distribution in ("aws_lambda_powertools", "pydantic", "pydantic_core", "aws_xray_sdk", "wrapt"):
        assert _dist_version(code, distribution) == pins[distribution.replace("_", "-")], distribution
    # boto3 comes from the Lambda runtime; the pins file is not part of the code
    assert not list(code.glob("boto*"))
    assert not list(code.glob("requirements*"))
    assert not list(code.rglob("__pycache__"))


def test_compiled_dependencies_are_built_for_arm64_and_python_3_14(synthesized: Synthesized) -> None:
    code = _code_dir(synthesized)
    (extension,) = (code / "pydantic_core").glob("_pydantic_core*.so")
    assert extension.name == "_pydantic_core.cpython-314-aarch64-linux-gnu.so"
    header = extension.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == EM_AARCH64
    for shared_object in code.rglob("*.so"):
        assert "x86_64" not in shared_object.name, shared_object
