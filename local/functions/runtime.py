"""A local Lambda runtime: each function runs in its own execution environments (child processes).

Like Lambda, an environment is a process with the function's own environment variables, which
imports the handler once (the init phase) and then serves one invocation at a time. A function gets
as many environments as invocations may run at once. An invocation that outlives the function's
timeout is stopped by ending its environment, as Lambda does. Processes keep environment variables
apart: each function sees only its own (handlers read settings once, e.g. through ``lru_cache``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from local.console import Console

# Variables a process needs to run at all; the rest of the parent's environment stays out of functions.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str  # readable name for logs: the construct path (e.g. Recognition/Worker/Function)
    function_name: str  # the physical name
    arn: str
    handler: str  # module.path.function, as in the template
    code_dir: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int


@dataclass(frozen=True)
class InvokeResult:
    payload: Any = None
    error: dict[str, Any] | None = None  # {"errorType", "errorMessage", "stackTrace"} like Lambda
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class _Context:
    """What ``context`` offers a Python handler (awslambdaric's LambdaContext, minus cognito/client context)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    identity: Any = None
    client_context: Any = None
    tenant_id: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


class _PrefixedLines(io.TextIOBase):
    """Writes whole lines, each with the function's name in front, to one shared stream."""

    def __init__(self, target: TextIO, prefix: str) -> None:
        self._target = target
        self._prefix = prefix
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            if lines:
                self._target.write("".join(f"{self._prefix}{line}\n" for line in lines))
                self._target.flush()
        return len(text)

    def flush(self) -> None:
        self._target.flush()


def _child_main(spec: FunctionSpec, environment: dict[str, str], connection: Connection, prefix: str) -> None:
    """The execution environment: init once, then serve invocations until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent until now
    sys.stdout = _PrefixedLines(sys.__stdout__ or sys.stdout, prefix)
    sys.stderr = _PrefixedLines(sys.__stderr__ or sys.stderr, prefix)
    os.environ.clear()
    os.environ.update(environment)
    # After this interpreter's own packages: the asset also carries its dependencies built for the cloud's
    # platform (aarch64, CPython 3.14); here the same pins come from the venv, built for this machine.
    sys.path.append(str(spec.code_dir))
    try:
        module_name, function_name = spec.handler.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:
        traceback.print_exc()
        connection.send(("init-error", _error(error, "Runtime.ImportModuleError")))
        return
    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        event, context = message
        try:
            payload = json.loads(json.dumps(handler(event, context)))
        except Exception as error:
            traceback.print_exc()
            connection.send(("error", _error(error)))
        else:
            connection.send(("ok", payload))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


class _Environment:
    def __init__(self, spec: FunctionSpec, environment: dict[str, str], console: Console) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        prefix = console.prefix(spec.name)
        self.process = context.Process(
            target=_child_main, args=(spec, environment, child, prefix), name=f"lambda:{spec.name}", daemon=True
        )
        # The child starts with SIGINT blocked (the mask survives fork and exec) until _child_main ignores it:
        # a Ctrl-C while its Python starts would otherwise end it with a KeyboardInterrupt traceback.
        # Starting the resource tracker unblocks SIGINT: it must be running before the mask is set.
        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()
        self.ready = False
        self.stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"

    def wait_ready(self, timeout: float) -> dict[str, Any] | None:
        """None when the handler imported; the init error otherwise."""
        if not self._connection.poll(timeout):
            return {"errorType": "Runtime.InitTimeout", "errorMessage": f"init took over {timeout:.0f} s"}
        try:
            kind, detail = self._connection.recv()
        except EOFError:
            return {"errorType": "Runtime.ExitError", "errorMessage": "the environment exited during init"}
        self.ready = kind == "ready"
        return None if self.ready else dict(detail)

    def invoke(self, event: Any, context: _Context, timeout: float) -> tuple[str, Any]:
        try:
            self._connection.send((event, context))
        except OSError:  # the process died while it waited (BrokenPipeError)
            return "exit", None
        if not self._connection.poll(timeout):
            return "timeout", None
        try:
            kind, detail = self._connection.recv()
            return str(kind), detail
        except EOFError:
            return "exit", None

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._connection.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self._connection.close()


class LocalFunction:
    """One function and its pool of execution environments (at most ``concurrency`` at once)."""

    def __init__(
        self,
        spec: FunctionSpec,
        base_environment: Mapping[str, str],
        console: Console,
        concurrency: int = 2,
    ) -> None:
        self.spec = spec
        self._console = console
        self._environment = self._environment_for(spec, base_environment)
        self._idle: list[_Environment] = []
        self._all: set[_Environment] = set()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _environment_for(spec: FunctionSpec, base: Mapping[str, str]) -> dict[str, str]:
        inherited = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        lambda_variables = {
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python_local",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "PYTHONUNBUFFERED": "1",
        }
        return {**inherited, **lambda_variables, **base, **spec.environment}

    def warm(self, timeout: float = 120) -> dict[str, Any] | None:
        """Start one environment now (init phase) so that the first invocation is not a cold start."""
        environment = _Environment(self.spec, self._environment, self._console)
        error = environment.wait_ready(timeout)
        with self._lock:
            self._all.add(environment)
            if error is None:
                self._idle.append(environment)
        if error is not None:
            self._console.line(self.spec.name, f"INIT failed: {error['errorType']}: {error['errorMessage']}")
            environment.stop()
        return error

    def invoke(self, event: Any) -> InvokeResult:
        with self._slots:
            environment = self._acquire()
            if environment is None:
                return InvokeResult(error={"errorType": "Runtime.InitError", "errorMessage": "init failed"})
            request_id = str(uuid.uuid4())
            started = time.perf_counter()
            context = _Context(
                function_name=self.spec.function_name,
                function_version="$LATEST",
                invoked_function_arn=self.spec.arn,
                memory_limit_in_mb=self.spec.memory_mb,
                aws_request_id=request_id,
                log_group_name=f"/aws/lambda/{self.spec.function_name}",
                log_stream_name=environment.stream,
                deadline_ms=int(time.time() * 1000) + self.spec.timeout_seconds * 1000,
            )
            kind, detail = environment.invoke(event, context, self.spec.timeout_seconds)
            duration = (time.perf_counter() - started) * 1000
            if kind == "ok":
                self._release(environment)
                result = InvokeResult(payload=detail, duration_ms=duration)
            elif kind == "error":
                self._release(environment)
                result = InvokeResult(error=detail, duration_ms=duration)
            else:
                self._discard(environment)
                message = (
                    f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
                    if kind == "timeout"
                    else "the environment exited"
                )
                error_type = "Sandbox.Timedout" if kind == "timeout" else "Runtime.ExitError"
                result = InvokeResult(error={"errorType": error_type, "errorMessage": message}, duration_ms=duration)
            status = "" if result.error is None else f"\tStatus: error ({result.error['errorType']})"
            self._console.line(self.spec.name, f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms{status}")
            return result

    def _acquire(self) -> _Environment | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._closed:
                return None
        environment = _Environment(self.spec, self._environment, self._console)
        with self._lock:
            self._all.add(environment)
        if environment.wait_ready(120) is not None:
            self._discard(environment)
            return None
        return environment

    def _release(self, environment: _Environment) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(environment)
                return
        self._discard(environment)

    def _discard(self, environment: _Environment) -> None:
        with self._lock:
            self._all.discard(environment)
        environment.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            environments, self._all, self._idle = list(self._all), set(), []
        for environment in environments:
            environment.stop()


@dataclass
class LocalFunctions:
    """Every function of the assembly, by ARN and by name."""

    functions: dict[str, LocalFunction] = field(default_factory=dict)  # arn -> function

    def add(self, function: LocalFunction) -> None:
        self.functions[function.spec.arn] = function

    def by_arn(self, arn: str) -> LocalFunction:
        # A qualified ARN (…:function:name:alias) or the name alone both find the function.
        for known, function in self.functions.items():
            if arn in (known, function.spec.function_name) or arn.startswith(known + ":"):
                return function
        raise KeyError(f"no local function {arn}")

    def invoke(self, name: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        """Lambda's Invoke from outside (local.emulator): KeyError for an unknown function."""
        result = self.by_arn(name).invoke(event)
        return result.payload, result.error

    def close(self) -> None:
        for function in self.functions.values():
            function.close()
