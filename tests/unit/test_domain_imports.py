"""The domain speaks only its own language: no module under a domain/ folder (nor the shared domain modules)
imports an AWS SDK, an adapter, a transport, the HTTP layer or a function's wiring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lambdas" / "image_pipeline"
SHARED_DOMAIN = ("shared/errors.py", "shared/page_tokens.py")
DOMAIN_MODULES = sorted(
    [*PACKAGE.glob("*/domain/*.py"), *(PACKAGE / name for name in SHARED_DOMAIN)],
    key=lambda path: str(path),
)
FORBIDDEN_ROOTS = ("boto3", "botocore", "mypy_boto3", "http", "ssl", "aws_lambda_powertools.event_handler")
FORBIDDEN_PARTS = ("adapters", "api", "handlers", "handler", "composition")


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def forbidden(module: str) -> bool:
    if any(module == root or module.startswith(f"{root}.") for root in FORBIDDEN_ROOTS):
        return True
    parts = module.split(".")
    return parts[0] == "image_pipeline" and any(part in FORBIDDEN_PARTS for part in parts[1:])


def test_the_domain_modules_are_found() -> None:
    assert len(DOMAIN_MODULES) > 15
    assert all(path.exists() for path in DOMAIN_MODULES)


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_domain_module_imports_no_sdk_adapter_or_transport(path: Path) -> None:
    offending = [module for module in imported_modules(path) if forbidden(module)]
    assert offending == []


@pytest.mark.parametrize(
    "module",
    [
        "boto3",
        "botocore.exceptions",
        "http.client",
        "image_pipeline.webhooks.adapters.transport",
        "image_pipeline.api.errors",
        "image_pipeline.recognition.composition",
    ],
)
def test_the_check_refuses_what_the_domain_must_not_import(module: str) -> None:
    assert forbidden(module)


def test_the_check_allows_the_domain_its_own_modules() -> None:
    assert not forbidden("image_pipeline.results.domain.records")
    assert not forbidden("image_pipeline.shared.errors")
