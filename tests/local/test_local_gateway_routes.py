"""How the local API gateway matches routes and reads static headers, as API Gateway does."""

from __future__ import annotations

import pytest

from local.gateway.events import _claim_strings
from local.gateway.routes import GatewayRoute, static_headers
from local.gateway.server import _handler_for


def route(path: str, method: str = "GET") -> GatewayRoute:
    return GatewayRoute(
        api_id="api", stage="v1", path=path, method=method, resource_id="r", integration={}, authorizer=None
    )


def best(routes: list[GatewayRoute], method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    for candidate in sorted(routes, key=GatewayRoute.priority):
        parameters = candidate.match("v1", path)
        if parameters is not None and candidate.method in (method, "ANY"):
            return candidate.path, candidate.method, parameters
    return None


ROUTES = [
    route("/images"),
    route("/images", "POST"),
    route("/images/{imageId}"),
    route("/images/{imageId}/url"),
    route("/images/latest"),
    route("/files/{proxy+}", "ANY"),
    route("/files/{proxy+}", "GET"),
]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/images", ("/images", "GET", {})),
        ("POST", "/images/", ("/images", "POST", {})),
        ("GET", "/images/abc-1", ("/images/{imageId}", "GET", {"imageId": "abc-1"})),
        ("GET", "/images/latest", ("/images/latest", "GET", {})),
        ("GET", "/images/abc/url", ("/images/{imageId}/url", "GET", {"imageId": "abc"})),
        ("GET", "/files/a/b/c.txt", ("/files/{proxy+}", "GET", {"proxy": "a/b/c.txt"})),
        ("PUT", "/files/a/b", ("/files/{proxy+}", "ANY", {"proxy": "a/b"})),
    ],
)
def test_literal_segments_win_over_parameters_and_exact_methods_over_any(
    method: str, path: str, expected: tuple[str, str, dict[str, str]]
) -> None:
    assert best(ROUTES, method, path) == expected


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/images"), ("GET", "/images/a/b"), ("GET", "/files")])
def test_no_route_for_unknown_paths_or_methods(method: str, path: str) -> None:
    assert best(ROUTES, method, path) is None


def test_routes_belong_to_their_stage() -> None:
    assert route("/images").match("prod", "/images") is None


def test_only_quoted_static_header_values_are_taken() -> None:
    parameters = {
        "method.response.header.Access-Control-Allow-Origin": "'http://127.0.0.1:8080'",
        "method.response.header.Vary": "'Origin'",
        "method.response.header.X-From-Request": "method.request.header.X",
        "integration.response.header.Other": "'x'",
    }
    assert static_headers(parameters, "method.response.header.") == {
        "Access-Control-Allow-Origin": "http://127.0.0.1:8080",
        "Vary": "Origin",
    }


def test_claims_reach_the_function_as_strings_in_api_gateways_rest_format() -> None:
    # Given verified ID token claims with a boolean, epoch times and a list of groups
    claims = {
        "sub": "u1",
        "email_verified": True,
        "auth_time": 1795311392,
        "exp": 1795311392,
        "iat": 1795307792,
        "cognito:groups": ["admins", "users"],
    }
    # When the gateway passes them to the function
    passed = _claim_strings(claims)
    # Then they are strings as a REST API's Cognito authorizer writes them: exp and iat as dates,
    # auth_time as the number, groups joined by commas (the "[a b]" form is the HTTP API JWT authorizer's)
    assert passed == {
        "sub": "u1",
        "email_verified": "true",
        "auth_time": "1795311392",
        "exp": "Sun Nov 22 01:36:32 UTC 2026",
        "iat": "Sun Nov 22 00:36:32 UTC 2026",
        "cognito:groups": "admins,users",
    }


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_any_method_reaches_the_router_instead_of_http_servers_501(method: str) -> None:
    # http.server answers 501 (a server error) for a method its handler has no do_<METHOD> for; API Gateway
    # answers a method no route has with its 403, so the local gateway routes every method.
    handler = _handler_for(lambda *_: None)
    instance = handler.__new__(handler)
    assert getattr(instance, f"do_{method}") == instance._serve
