"""The proxy event the local gateway hands the API function, compared with what a REST API (v1) sends."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.console import Console
from local.functions.runtime import InvokeResult
from local.gateway.authorizer import Unauthorized
from local.gateway.routes import CognitoAuthorizer, GatewayApi, GatewayRoute
from local.gateway.server import Gateway

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:api"
INTEGRATION = {
    "Type": "AWS_PROXY",
    "Uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations",
}


class EchoFunction:
    """Answers with the event it got."""

    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        return InvokeResult(payload={"statusCode": 200, "body": json.dumps(event)})


class OneFunctionRuntime:
    def by_arn(self, arn: str) -> EchoFunction:
        assert arn == FUNCTION
        return EchoFunction()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = Gateway("127.0.0.1", 0, Console(io.StringIO()))
    routes = [
        GatewayRoute("api1", "v1", path, "GET", f"res-{index}", INTEGRATION, None)
        for index, path in enumerate(["/images/{imageId}", "/files/{proxy+}"])
    ]
    gateway._api = GatewayApi(routes=sorted(routes, key=GatewayRoute.priority))
    gateway._runtime = OneFunctionRuntime()  # type: ignore[assignment]
    gateway._verifier = object()  # type: ignore[assignment]
    yield gateway
    gateway.close()


def event_for(gateway: Gateway, path: str, headers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    response = gateway.handle("GET", path, headers or [("Host", "127.0.0.1")], b"", "127.0.0.1")
    assert response.status == 200, response.body
    return dict(json.loads(response.body))


def test_the_event_names_the_resource_the_path_without_the_stage_and_the_parameters(gateway: Gateway) -> None:
    # Given a route /images/{imageId} in stage v1 / When it is called with repeated query parameters
    event = event_for(gateway, "/v1/images/abc-1?label=Dog&label=Cat&limit=2")
    # Then the event is shaped like a REST API's
    assert event["resource"] == "/images/{imageId}"
    assert event["path"] == "/images/abc-1"
    assert event["pathParameters"] == {"imageId": "abc-1"}
    assert event["queryStringParameters"] == {"label": "Cat", "limit": "2"}
    assert event["multiValueQueryStringParameters"] == {"label": ["Dog", "Cat"], "limit": ["2"]}
    context = event["requestContext"]
    assert (context["stage"], context["path"]) == ("v1", "/v1/images/abc-1")
    assert context["resourcePath"] == "/images/{imageId}"
    assert (context["resourceId"], context["httpMethod"], context["apiId"]) == ("res-0", "GET", "api1")


def test_the_path_and_its_parameters_stay_percent_encoded_as_a_rest_api_sends_them(gateway: Gateway) -> None:
    # Given an id with characters a client must encode, an encoded slash among them
    # When it is requested
    event = event_for(gateway, "/v1/images/a%40b%2Fc%20d")
    # Then the REST API's event keeps them encoded (only query strings are decoded) and the slash is no separator
    assert event["pathParameters"] == {"imageId": "a%40b%2Fc%20d"}
    assert event["path"] == "/images/a%40b%2Fc%20d"
    assert event["requestContext"]["path"] == "/v1/images/a%40b%2Fc%20d"


def test_a_greedy_parameter_takes_the_rest_of_the_path(gateway: Gateway) -> None:
    event = event_for(gateway, "/v1/files/a/b%20c.txt")
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b%20c.txt"}


def test_the_api_is_announced_at_its_stage_url(gateway: Gateway) -> None:
    # Given routes in stage v1 / Then the URL to print is the stage's, where the routes answer
    assert gateway.stage_urls == [f"{gateway.url}/v1/"]


class BrokenFunction:
    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        raise BrokenPipeError("its execution environment is gone")


def test_a_function_that_cannot_be_invoked_answers_502_at_once(gateway: Gateway) -> None:
    # Given a function whose invocation fails in the runtime itself (not in the handler)
    runtime = OneFunctionRuntime()
    runtime.by_arn = lambda arn: BrokenFunction()  # type: ignore[method-assign,assignment,return-value]
    gateway._runtime = runtime  # type: ignore[assignment]
    route = GatewayRoute("api1", "v1", "/slow", "GET", "res-9", {**INTEGRATION, "TimeoutInMillis": 3000}, None)
    assert gateway._api is not None
    gateway._api.routes.append(route)
    # When it is called / Then the gateway answers like API Gateway for a failed Lambda call, not with a timeout
    response = gateway.handle("GET", "/v1/slow", [], b"", "127.0.0.1")
    assert response.status == 502


class FakeVerifier:
    """Accepts the token "good" only."""

    def claims(self, token: str, authorizer: CognitoAuthorizer, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        if token != "good":
            raise Unauthorized("bad signature")
        return {"sub": "user-1", "exp": 1795311392, "email_verified": True}


class CountingFunction(EchoFunction):
    def __init__(self) -> None:
        self.calls = 0

    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        self.calls += 1
        return super().invoke(event)


def test_the_authorizer_refuses_before_the_function_runs_and_passes_the_claims(gateway: Gateway) -> None:
    # Given a route behind a Cognito authorizer
    function = CountingFunction()
    runtime = OneFunctionRuntime()
    runtime.by_arn = lambda arn: function  # type: ignore[method-assign,assignment,return-value]
    gateway._runtime = runtime  # type: ignore[assignment]
    gateway._verifier = FakeVerifier()  # type: ignore[assignment]
    signed_in = CognitoAuthorizer(name="SignedIn", pool_ids=("pool",), identity_header="Authorization")
    assert gateway._api is not None
    gateway._api.routes.append(GatewayRoute("api1", "v1", "/me", "GET", "res-8", INTEGRATION, signed_in))
    # When it is called without a token, with a refused one, and with a good one (with and without "Bearer")
    answers = [
        gateway.handle("GET", "/v1/me", headers, b"", "127.0.0.1")
        for headers in (
            [],
            [("Authorization", "forged")],
            [("authorization", "good")],
            [("Authorization", "Bearer good")],
        )
    ]
    # Then the first two are 401 without invoking the function, the others reach it with the claims as strings
    assert [answer.status for answer in answers] == [401, 401, 200, 200]
    assert json.loads(answers[0].body) == {"message": "Unauthorized"}
    assert function.calls == 2
    claims = json.loads(answers[2].body)["requestContext"]["authorizer"]["claims"]
    assert claims == {"sub": "user-1", "exp": "Sun Nov 22 01:36:32 UTC 2026", "email_verified": "true"}
