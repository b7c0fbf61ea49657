"""Local Lambda execution environments: own environment variables, init once, timeouts, errors."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.console import Console
from local.functions.runtime import FunctionSpec, LocalFunction, _Environment

HANDLERS = textwrap.dedent(
    """
    import os, time

    INITS = []
    INITS.append(os.getpid())

    def env(event, context):
        return {name: os.environ.get(name) for name in event["names"]}

    def slow(event, context):
        time.sleep(event["seconds"])
        return "done"

    def fail(event, context):
        raise ValueError("bad input")

    def context(event, context):
        print("hello from the handler")
        return {
            "pid": os.getpid(),
            "inits": len(INITS),
            "name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
        }

    def not_json(event, context):
        return {1, 2}
    """
)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    return tmp_path


def spec_of(code: Path, handler: str, environment: dict[str, str], timeout: int = 5) -> FunctionSpec:
    return FunctionSpec(
        logical_id=f"{handler}Function",
        name=f"Test/{handler}",
        function_name=f"test-{handler}",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:test-{handler}",
        handler=f"handlers.{handler}",
        code_dir=code,
        environment=environment,
        timeout_seconds=timeout,
        memory_mb=128,
    )


def function(code: Path, handler: str, environment: dict[str, str], timeout: int = 5) -> LocalFunction:
    spec = spec_of(code, handler, environment, timeout)
    return LocalFunction(spec, {"AWS_REGION": "us-east-1", "SHARED": "base"}, Console(io.StringIO()), concurrency=1)


@pytest.fixture
def functions() -> Iterator[list[LocalFunction]]:
    started: list[LocalFunction] = []
    yield started
    for item in started:
        item.close()


def test_each_function_sees_only_its_own_environment(code: Path, functions: list[LocalFunction]) -> None:
    # Given two functions with different values for the same variable
    first = function(code, "env", {"TABLE_NAME": "first"})
    second = function(code, "env", {"TABLE_NAME": "second"})
    functions += [first, second]
    names = ["TABLE_NAME", "SHARED", "AWS_LAMBDA_FUNCTION_NAME", "PYTEST_CURRENT_TEST"]
    # When each reads its environment
    one, two = first.invoke({"names": names}), second.invoke({"names": names})
    # Then each has its own, the runtime's variables, and nothing of the parent process
    assert one.payload == {
        "TABLE_NAME": "first",
        "SHARED": "base",
        "AWS_LAMBDA_FUNCTION_NAME": "test-env",
        "PYTEST_CURRENT_TEST": None,
    }
    assert two.payload["TABLE_NAME"] == "second"


def test_the_handler_is_initialised_once_per_environment(code: Path, functions: list[LocalFunction]) -> None:
    local = function(code, "context", {}, timeout=7)
    functions.append(local)
    assert local.warm() is None
    first, second = local.invoke({}), local.invoke({})
    assert first.payload["pid"] == second.payload["pid"]
    assert second.payload["inits"] == 1
    assert first.payload["request_id"] != second.payload["request_id"]
    assert first.payload["name"] == "test-context"
    assert 0 < first.payload["remaining_ms"] <= 7000


def test_an_invocation_past_its_timeout_ends_the_environment(code: Path, functions: list[LocalFunction]) -> None:
    local = function(code, "slow", {}, timeout=1)
    functions.append(local)
    # When the handler runs longer than the function's timeout
    result = local.invoke({"seconds": 30})
    # Then the invocation fails as Lambda reports it, and a fresh environment serves the next one
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert local.invoke({"seconds": 0}).payload == "done"


def test_errors_are_reported_like_lambda(code: Path, functions: list[LocalFunction]) -> None:
    failing, unserialisable = function(code, "fail", {}), function(code, "not_json", {})
    functions += [failing, unserialisable]
    error = failing.invoke({}).error
    assert error is not None
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad input")
    assert any("bad input" in line for line in error["stackTrace"])
    assert unserialisable.invoke({}).failed


def test_a_handler_that_cannot_be_imported_fails_init(tmp_path: Path, functions: list[LocalFunction]) -> None:
    local = function(tmp_path, "missing", {})
    functions.append(local)
    error = local.warm()
    assert error is not None
    assert error["errorType"] == "Runtime.ImportModuleError"


def test_ctrl_c_while_an_environment_starts_does_not_kill_it(code: Path) -> None:
    # Given an execution environment that has just been spawned (its Python is still starting)
    spec = spec_of(code, "env", {})
    environment = _Environment(spec, LocalFunction._environment_for(spec, {}), Console(io.StringIO()))
    try:
        # When Ctrl-C's SIGINT reaches it (a terminal sends it to the whole process group)
        os.kill(environment.process.pid, signal.SIGINT)
        # Then it initialises all the same (no KeyboardInterrupt traceback): the local mode stops it itself
        assert environment.wait_ready(60) is None
    finally:
        environment.stop()


def test_an_environment_that_died_while_idle_fails_one_invocation_and_is_replaced(
    code: Path, functions: list[LocalFunction]
) -> None:
    # Given a warm function whose only environment is killed while it waits
    local = function(code, "context", {})
    functions.append(local)
    assert local.warm() is None
    first = local.invoke({}).payload["pid"]
    os.kill(first, signal.SIGKILL)
    local._idle[0].process.join(10)
    # When it is invoked / Then that invocation fails like Lambda's (no exception escapes to the caller)
    failed = local.invoke({})
    assert failed.error is not None
    assert failed.error["errorType"] == "Runtime.ExitError"
    # and the next one runs in a new environment
    assert local.invoke({}).payload["pid"] != first


def test_the_dependencies_come_from_this_machine_not_the_cloud_copies_in_the_asset(
    code: Path, functions: list[LocalFunction]
) -> None:
    # Given a code asset that also carries a dependency built for another platform (the cloud's aarch64
    # pydantic-core cannot load here), as the synthesized functions' assets do
    foreign = code / "pydantic_core"
    foreign.mkdir()
    (foreign / "__init__.py").write_text("raise ImportError('built for aarch64 / CPython 3.14')\n")
    (code / "uses_pydantic.py").write_text("import pydantic_core\n\ndef version(event, context):\n    return 1\n")
    local = LocalFunction(
        dataclasses.replace(spec_of(code, "env", {}), handler="uses_pydantic.version"),
        {"AWS_REGION": "us-east-1"},
        Console(io.StringIO()),
        concurrency=1,
    )
    functions.append(local)
    # When the function starts, Then it imports this machine's installed copy of the same pin
    assert local.warm() is None
    assert local.invoke({}).payload == 1
