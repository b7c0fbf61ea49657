"""The local API Gateway (REST API, v1 proxy events) built from the templates' RestApi, Resource, Method,
Authorizer, Stage and GatewayResponse resources.

- Routes: ``/<stage>/<path>`` matched like API Gateway (literal segments before ``{param}`` before
  ``{proxy+}``; method ``ANY`` matches every method). No route: 403 "Missing Authentication Token".
- ``AWS_PROXY`` integrations invoke the local function with an API Gateway proxy event (version 1.0)
  and return its response (502 when the function fails or answers malformed, 504 after the
  integration timeout). ``MOCK`` integrations (CORS preflight) answer from their integration response.
- ``COGNITO_USER_POOLS`` methods need an ID token of the user pool in the identity source header
  (``Authorization``; "Bearer " is accepted too): signature checked against the run's own key
  (local.signing_key; moto's shipped key is refused),
  then issuer, audience (an app client of the pool), expiry and ``token_use``. Claims reach the
  function in ``requestContext.authorizer.claims``, as strings, as API Gateway passes them.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey

from local.console import Console
from local.functions.runtime import InvokeResult, LocalFunctions
from local.gateway.authorizer import TokenVerifier, Unauthorized
from local.gateway.events import proxy_event
from local.gateway.routes import GatewayApi, GatewayRoute, build_api, static_headers
from local.http_server import BackgroundServer
from local.provisioners import Provisioned

DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000
_FUNCTION_IN_URI = re.compile(r"functions/(arn:aws:lambda:[^/]+)/invocations")


@dataclass(frozen=True)
class GatewayReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Gateway:
    def __init__(self, host: str, port: int, console: Console, region: str = "us-east-1") -> None:
        self._console = console
        self._region = region
        self._api: GatewayApi | None = None
        self._runtime: LocalFunctions | None = None
        self._verifier: TokenVerifier | None = None
        self._server = BackgroundServer(host, port, _handler_for(self.handle), "gateway")

    @property
    def url(self) -> str:
        return f"http://{self._server.address}"

    @property
    def has_routes(self) -> bool:
        return bool(self._api and self._api.routes)

    @property
    def stage_urls(self) -> list[str]:
        """Where each stage's routes are served (what a deployment's stage URL, e.g. ApiUrl, points to)."""
        stages = sorted({route.stage for route in self._api.routes}) if self._api else []
        return [f"{self.url}/{stage}/" for stage in stages]

    def serve(self, provisioned: Provisioned, runtime: LocalFunctions, signing_key: RSAKey) -> None:
        """``signing_key``: the public half of the key the run's user pools sign with (local.signing_key)."""
        self._api = build_api(provisioned)
        self._runtime = runtime
        self._verifier = TokenVerifier(signing_key, self._region, provisioned.user_pool_clients)
        if self._api.routes:
            self._server.start()

    def close(self) -> None:
        self._server.close()

    # -- requests ---------------------------------------------------------------------------------
    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, client: str
    ) -> GatewayReply:
        started = time.perf_counter()
        response = self._route(method, raw_path, headers, body, client)
        took = (time.perf_counter() - started) * 1000
        self._console.line("api", f"{method} {urlsplit(raw_path).path} -> {response.status} ({took:.0f} ms)")
        return response

    def _route(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, client: str
    ) -> GatewayReply:
        if self._api is None or self._runtime is None or self._verifier is None:
            return _json(503, {"message": "starting"})
        url = urlsplit(raw_path)
        path = url.path  # a REST API leaves the path and its parameters percent-encoded (it decodes query strings)
        stage, _, rest = path.lstrip("/").partition("/")
        candidates = [(route, route.match(stage, "/" + rest)) for route in self._api.routes]
        matching = [(route, params) for route, params in candidates if params is not None]
        chosen = next(((r, p) for r, p in matching if r.method in (method, "ANY")), None)
        if method == "HEAD" and chosen is None:
            chosen = next(((r, p) for r, p in matching if r.method == "GET"), None)
        if chosen is None:
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
        route, parameters = chosen
        header_map = {name.lower(): value for name, value in headers}
        claims: dict[str, Any] | None = None
        if route.authorizer is not None:
            token = header_map.get(route.authorizer.identity_header.lower(), "")
            if token.lower().startswith("bearer "):
                token = token[7:]
            if not token:
                return self._gateway_error("UNAUTHORIZED", 401, "Unauthorized")
            try:
                claims = self._verifier.claims(token, route.authorizer, route.authorization_scopes)
            except Unauthorized as error:
                expired = "expired" in str(error)
                return self._gateway_error("UNAUTHORIZED", 401, str(error) if expired else "Unauthorized")
        integration_type = route.integration.get("Type")
        if integration_type == "MOCK":
            return self._mock(route, header_map)
        if integration_type != "AWS_PROXY":
            return self._gateway_error("DEFAULT_5XX", 500, f"integration {integration_type} is not emulated")
        event = proxy_event(
            route,
            method,
            url.query,
            path,
            stage,
            parameters,
            headers,
            body,
            claims,
            client,
            binary_media_types=self._api.binary_media_types,
            region=self._region,
        )
        return self._invoke(route, event)

    def _invoke(self, route: GatewayRoute, event: dict[str, Any]) -> GatewayReply:
        assert self._runtime is not None
        found = _FUNCTION_IN_URI.search(str(route.integration.get("Uri", "")))
        if not found:
            return self._gateway_error("DEFAULT_5XX", 500, "Internal server error")
        function = self._runtime.by_arn(found.group(1))
        timeout = int(route.integration.get("TimeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)) / 1000
        outcome: list[InvokeResult] = []

        def invoke() -> None:
            try:
                outcome.append(function.invoke(event))
            except Exception as error:  # the runtime failed, not the handler: Lambda's service error
                self._console.line("api", f"invoking {found.group(1)} failed: {type(error).__name__}: {error}")
                outcome.append(InvokeResult(error={"errorType": type(error).__name__, "errorMessage": str(error)}))

        worker = threading.Thread(target=invoke, daemon=True)
        worker.start()
        worker.join(timeout)
        if not outcome:
            return self._gateway_error("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out")
        result = outcome[0]
        payload = result.payload
        if result.failed or not isinstance(payload, dict) or not isinstance(payload.get("statusCode", 200), int):
            return self._gateway_error("DEFAULT_5XX", 502, "Internal server error")
        response_headers: list[tuple[str, str]] = [
            (str(name), str(value)) for name, value in (payload.get("headers") or {}).items()
        ]
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            response_headers += [(str(name), str(value)) for value in values]
        body = payload.get("body") or ""
        raw = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode()
        return GatewayReply(int(payload.get("statusCode", 200)), response_headers, raw)

    def _mock(self, route: GatewayRoute, headers: dict[str, str]) -> GatewayReply:
        responses = route.integration.get("IntegrationResponses") or [{"StatusCode": "200"}]
        chosen = responses[0]
        answer_headers = static_headers(chosen.get("ResponseParameters", {}), "method.response.header.")
        origin = headers.get("origin")
        for template in (chosen.get("ResponseTemplates") or {}).values():
            # CDK's preflight for several allowed origins echoes the request's Origin when it is one of them.
            allowed = re.findall(r'\$origin == "([^"]+)"', str(template))
            if origin and origin in allowed and "Access-Control-Allow-Origin" in str(template):
                answer_headers["Access-Control-Allow-Origin"] = origin
        return GatewayReply(int(chosen.get("StatusCode", 200)), list(answer_headers.items()), b"")

    def _gateway_error(self, response_type: str, status: int, message: str) -> GatewayReply:
        assert self._api is not None
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        configured = self._api.gateway_responses.get(response_type) or self._api.gateway_responses.get(family) or {}
        headers = list(configured.get("headers", {}).items())
        return _json(configured.get("status") or status, {"message": message}, headers)


def _json(status: int, document: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> GatewayReply:
    return GatewayReply(status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(document).encode())


Handle = Callable[[str, str, list[tuple[str, str]], bytes, str], GatewayReply]


def _handler_for(handle: Handle) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = handle(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
            self.send_response(response.status)
            names = {name.lower() for name, _ in response.headers}
            for name, value in response.headers:
                self.send_header(name, value)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_OPTIONS(self) -> None:
            self._serve()

        def __getattr__(self, name: str) -> Any:
            """Any other method (TRACE, QUERY, ...) is routed too, and meets no route, as API Gateway answers;
            http.server alone would answer 501, a server error for a client's choice of method."""
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler
