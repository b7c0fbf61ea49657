"""Lambda Invoke against the local emulator runs a local function (make backfill's local map uses it), outside the
emulator's lock: the function's own calls come back into moto while it runs."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from local.emulator import Invoker, lambda_invocations, serialised


def moto_stand_in(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"moto answered " + environ["PATH_INFO"].encode()]


@pytest.fixture
def emulator() -> Iterator[tuple[str, dict[str, Any]]]:
    """The emulator's chain on an ephemeral port; ``state["invoker"]`` is what the local mode sets."""
    state: dict[str, Any] = {"invoker": None}
    app = lambda_invocations(serialised(moto_stand_in), lambda: state["invoker"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()
    thread.join()


def lambda_client(url: str) -> Any:
    return boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_an_invocation_runs_the_named_function_with_the_event(emulator: tuple[str, dict[str, Any]]) -> None:
    url, state = emulator
    calls: list[tuple[str, Any]] = []

    def invoker(name: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        calls.append((name, event))
        return {"queued": len(event["Items"])}, None

    state["invoker"] = invoker
    response = lambda_client(url).invoke(FunctionName="backfill-fn", Payload=json.dumps({"Items": [1, 2]}).encode())
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"queued": 2}
    assert calls == [("backfill-fn", {"Items": [1, 2]})]


def test_a_function_error_is_answered_as_lambda_does(emulator: tuple[str, dict[str, Any]]) -> None:
    url, state = emulator
    error = {"errorType": "RuntimeError", "errorMessage": "boom"}
    invoker: Invoker = lambda name, event: (None, error)  # noqa: E731
    state["invoker"] = invoker
    response = lambda_client(url).invoke(FunctionName="backfill-fn", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == error


def test_an_unknown_function_is_not_found(emulator: tuple[str, dict[str, Any]]) -> None:
    url, state = emulator

    def invoker(name: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        raise KeyError(f"no local function {name}")

    state["invoker"] = invoker
    with pytest.raises(ClientError) as raised:
        lambda_client(url).invoke(FunctionName="nope", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_functions_own_calls_reach_the_emulator_while_it_runs(emulator: tuple[str, dict[str, Any]]) -> None:
    url, state = emulator

    def invoker(name: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        with urllib.request.urlopen(f"{url}/some-bucket/key", timeout=10) as answer:
            return {"inner": answer.read().decode()}, None

    state["invoker"] = invoker
    response = lambda_client(url).invoke(FunctionName="backfill-fn", Payload=b"{}")
    assert json.loads(response["Payload"].read()) == {"inner": "moto answered /some-bucket/key"}


def test_everything_else_goes_to_moto(emulator: tuple[str, dict[str, Any]]) -> None:
    url, _ = emulator  # no invoker yet: even an Invoke path goes to moto until the functions run
    with urllib.request.urlopen(f"{url}/2015-03-31/functions/x/invocations", data=b"{}", timeout=10) as answer:
        assert answer.read() == b"moto answered /2015-03-31/functions/x/invocations"
