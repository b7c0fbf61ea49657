"""A local API Gateway (REST API, v1 proxy events) built from the templates' RestApi, Resource, Method,
Authorizer, Stage and GatewayResponse resources.

- Routes: ``/<stage>/<path>`` matched like API Gateway (literal segments before ``{param}`` before
  ``{proxy+}``; method ``ANY`` matches every method). No route: 403 "Missing Authentication Token".
- ``AWS_PROXY`` integrations invoke the local function with an API Gateway proxy event (version 1.0)
  and return its response (502 when the function fails or answers malformed, 504 after the
  integration timeout). ``MOCK`` integrations (CORS preflight) answer from their integration response.
- ``COGNITO_USER_POOLS`` methods need an ID token of the user pool in the identity source header
  (``Authorization``; "Bearer " is accepted too): signature checked against the moto pool's JWKS,
  then issuer, audience (an app client of the pool), expiry and ``token_use``. Claims reach the
  function in ``requestContext.authorizer.claims``, as strings, as API Gateway passes them.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from local.assembly import Resource
from local.console import Console
from local.http_server import BackgroundServer
from local.provision import ACCOUNT, Provisioned
from local.runtime import InvokeResult, Runtime

DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000
_FUNCTION_IN_URI = re.compile(r"functions/(arn:aws:lambda:[^/]+)/invocations")


class Unauthorized(Exception):
    pass


@dataclass(frozen=True)
class Authorizer:
    name: str
    pool_ids: tuple[str, ...]
    identity_header: str


@dataclass(frozen=True)
class Route:
    api_id: str
    stage: str
    path: str  # the resource path with its parameters: /images/{imageId}
    method: str  # GET, POST, ..., ANY
    resource_id: str
    integration: dict[str, Any]
    authorizer: Authorizer | None
    authorization_scopes: tuple[str, ...] = ()

    @property
    def segments(self) -> list[str]:
        return [part for part in self.path.split("/") if part]

    def match(self, stage: str, path: str) -> dict[str, str] | None:
        """The path parameters (as sent, percent-encoded) when ``path`` (as sent) is this route's."""
        if stage != self.stage:
            return None
        wanted = [part for part in path.split("/") if part]
        parameters: dict[str, str] = {}
        segments = self.segments
        for index, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if index >= len(wanted):
                    return None
                parameters[segment[1:-2]] = "/".join(wanted[index:])
                return parameters
            if index >= len(wanted):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                parameters[segment[1:-1]] = wanted[index]
            elif segment != unquote(wanted[index]):
                return None
        return parameters if len(wanted) == len(segments) else None

    def priority(self) -> tuple[int, ...]:
        """Sort key: literal segments first, then parameters, greedy paths last; exact methods before ANY."""
        kinds = [2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments]
        return (*kinds, 9, 1 if self.method == "ANY" else 0)


@dataclass
class Api:
    routes: list[Route] = field(default_factory=list)
    gateway_responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> {status, headers}
    binary_media_types: tuple[str, ...] = ()


def build_api(provisioned: Provisioned) -> Api:
    """Routes of every REST API in the assembly, read from its templates."""
    assembly, value = provisioned.assembly, provisioned.value
    api = Api()
    paths: dict[str, str] = {}  # physical resource id -> path
    parents: dict[str, tuple[str, str]] = {}  # physical resource id -> (parent id, path part)
    stages: dict[str, list[str]] = {}  # api id -> stage names
    for rest_api in assembly.resources("AWS::ApiGateway::RestApi"):
        api_id = provisioned.physical.ref(rest_api.key)
        paths[provisioned.physical.attribute(rest_api.key, "RootResourceId")] = ""
        api.binary_media_types += tuple(rest_api.properties.get("BinaryMediaTypes", []))
    for resource in assembly.resources("AWS::ApiGateway::Resource"):
        props = resource.properties
        parents[provisioned.physical.ref(resource.key)] = (
            value(resource.stack, props["ParentId"]),
            value(resource.stack, props["PathPart"]),
        )

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            parent, part = parents[resource_id]
            paths[resource_id] = f"{path_of(parent)}/{part}"
        return paths[resource_id]

    for stage in assembly.resources("AWS::ApiGateway::Stage"):
        stages.setdefault(value(stage.stack, stage.properties["RestApiId"]), []).append(
            provisioned.physical.ref(stage.key)
        )
    for deployment in assembly.resources("AWS::ApiGateway::Deployment"):
        if "StageName" in deployment.properties:
            stages.setdefault(value(deployment.stack, deployment.properties["RestApiId"]), []).append(
                value(deployment.stack, deployment.properties["StageName"])
            )
    authorizers = {
        provisioned.physical.ref(resource.key): _authorizer(resource, provisioned)
        for resource in assembly.resources("AWS::ApiGateway::Authorizer")
    }
    for method in assembly.resources("AWS::ApiGateway::Method"):
        props = method.properties
        api_id = value(method.stack, props["RestApiId"])
        resource_id = value(method.stack, props["ResourceId"])
        required = [name for name, needed in props.get("RequestParameters", {}).items() if needed is True]
        if props.get("RequestModels") or required:
            # local.resource_types ignores models and validators because the API function validates itself
            raise ValueError(f"{method.logical_id}: API Gateway request validation is not emulated")
        authorization = props.get("AuthorizationType", "NONE")
        authorizer = None
        if authorization == "COGNITO_USER_POOLS":
            authorizer = authorizers[value(method.stack, props["AuthorizerId"])]
        elif authorization not in ("NONE", None):
            raise ValueError(f"{method.logical_id}: authorization {authorization} is not emulated")
        for stage_name in stages.get(api_id, ["prod"]):
            api.routes.append(
                Route(
                    api_id=api_id,
                    stage=stage_name,
                    path=path_of(resource_id) or "/",
                    method=str(props["HttpMethod"]).upper(),
                    resource_id=resource_id,
                    integration=value(method.stack, props.get("Integration", {"Type": "MOCK"})),
                    authorizer=authorizer,
                    authorization_scopes=tuple(props.get("AuthorizationScopes", [])),
                )
            )
    api.routes.sort(key=Route.priority)
    for response in assembly.resources("AWS::ApiGateway::GatewayResponse"):
        props = value(response.stack, response.properties)
        api.gateway_responses[props["ResponseType"]] = {
            "status": int(props["StatusCode"]) if "StatusCode" in props else None,
            "headers": _static_headers(props.get("ResponseParameters", {}), "gatewayresponse.header."),
        }
    return api


def _authorizer(resource: Resource, provisioned: Provisioned) -> Authorizer:
    props = provisioned.value(resource.stack, resource.properties)
    if props.get("Type") != "COGNITO_USER_POOLS":
        raise ValueError(f"{resource.logical_id}: authorizer type {props.get('Type')} is not emulated")
    pools = tuple(str(arn).rsplit("/", 1)[-1] for arn in props.get("ProviderARNs", []))
    source = str(props.get("IdentitySource", "method.request.header.Authorization"))
    return Authorizer(resource.logical_id, pools, source.rsplit(".", 1)[-1])


def _static_headers(parameters: dict[str, Any], prefix: str) -> dict[str, str]:
    """``{"method.response.header.X": "'v'"}`` -> ``{"X": "v"}`` (static values only)."""
    headers = {}
    for name, raw in parameters.items():
        text = str(raw)
        if name.startswith(prefix) and len(text) >= 2 and text[0] == text[-1] == "'":
            headers[name[len(prefix) :]] = text[1:-1]
    return headers


class TokenVerifier:
    """Cognito tokens checked the way API Gateway's Cognito authorizer checks them."""

    def __init__(self, endpoint: str, region: str, clients: dict[str, list[str]]) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._region = region
        self._clients = clients
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def _key_set(self, pool_id: str) -> KeySet:
        with self._lock:
            if pool_id not in self._keys:
                with urllib.request.urlopen(f"{self._endpoint}/{pool_id}/.well-known/jwks.json", timeout=10) as r:
                    self._keys[pool_id] = KeySet.import_key_set(json.loads(r.read()))
            return self._keys[pool_id]

    def claims(self, token: str, authorizer: Authorizer, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        try:
            unverified = json.loads(_b64(token.split(".")[1]))
        except (IndexError, ValueError) as error:
            raise Unauthorized("not a JWT") from error
        issuer = str(unverified.get("iss", ""))
        pool_id = issuer.rsplit("/", 1)[-1]
        if (
            pool_id not in authorizer.pool_ids
            or issuer != f"https://cognito-idp.{self._region}.amazonaws.com/{pool_id}"
        ):
            raise Unauthorized("issued by another user pool")
        try:
            claims: dict[str, Any] = jwt.decode(token, self._key_set(pool_id), algorithms=["RS256"]).claims
        except Exception as error:
            raise Unauthorized(f"bad signature: {error}") from error
        if float(claims.get("exp", 0)) <= time.time():
            raise Unauthorized("The incoming token has expired")
        if scopes:
            granted = set(str(claims.get("scope", "")).split())
            if claims.get("token_use") != "access" or not granted & set(scopes):
                raise Unauthorized("an access token with one of the method's scopes is needed")
            return claims
        if claims.get("token_use") != "id":
            raise Unauthorized("an ID token is needed")
        if claims.get("aud") not in self._clients.get(pool_id, []):
            raise Unauthorized("issued to another app client")
        return claims


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_DATE_CLAIMS = ("exp", "iat")  # a REST API's Cognito authorizer writes these as dates (auth_time stays a number)


def _claim_strings(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as a REST API's Cognito authorizer passes them: ``"true"``, ``"Wed May 01 13:10:22 UTC 2024"``,
    groups as ``"admins,users"``."""

    def text(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if key in _DATE_CLAIMS and isinstance(value, int | float):
            return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        if isinstance(value, list):
            return ",".join(str(item) for item in value)
        return str(value)

    return {key: text(key, value) for key, value in claims.items()}


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Gateway:
    def __init__(self, host: str, port: int, console: Console, region: str = "us-east-1") -> None:
        self._console = console
        self._region = region
        self._api: Api | None = None
        self._runtime: Runtime | None = None
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

    def serve(self, provisioned: Provisioned, runtime: Runtime, moto_endpoint: str) -> None:
        self._api = build_api(provisioned)
        self._runtime = runtime
        self._verifier = TokenVerifier(moto_endpoint, self._region, provisioned.user_pool_clients)
        if self._api.routes:
            self._server.start()

    def close(self) -> None:
        self._server.close()

    # -- requests ---------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, client: str) -> Response:
        started = time.perf_counter()
        response = self._route(method, raw_path, headers, body, client)
        took = (time.perf_counter() - started) * 1000
        self._console.line("api", f"{method} {urlsplit(raw_path).path} -> {response.status} ({took:.0f} ms)")
        return response

    def _route(self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, client: str) -> Response:
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
        event = self._event(route, method, url.query, path, stage, parameters, headers, body, claims, client)
        return self._invoke(route, event)

    def _event(
        self,
        route: Route,
        method: str,
        query: str,
        path: str,
        stage: str,
        parameters: dict[str, str],
        headers: list[tuple[str, str]],
        body: bytes,
        claims: dict[str, Any] | None,
        client: str,
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        binary = (
            any(_media_matches(content_type, pattern) for pattern in self._api.binary_media_types)
            if self._api
            else False
        )
        payload: str | None = None
        encoded = bool(body) and (binary or not _is_text(body))
        if body:
            payload = base64.b64encode(body).decode() if encoded else body.decode()
        now = time.time()
        resource_path = route.path
        request_context: dict[str, Any] = {
            "resourceId": route.resource_id,
            "resourcePath": resource_path,
            "httpMethod": method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": path,
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": route.api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": client,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": next((v for n, v in headers if n.lower() == "user-agent"), None),
                "user": None,
            },
            "domainName": f"{route.api_id}.execute-api.{self._region}.amazonaws.com",
            "apiId": route.api_id,
        }
        if claims is not None:
            request_context["authorizer"] = {"claims": _claim_strings(claims)}
        return {
            "resource": resource_path,
            "path": "/" + path.lstrip("/").partition("/")[2],
            "httpMethod": method,
            "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": payload,
            "isBase64Encoded": encoded,
        }

    def _invoke(self, route: Route, event: dict[str, Any]) -> Response:
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
        return Response(int(payload.get("statusCode", 200)), response_headers, raw)

    def _mock(self, route: Route, headers: dict[str, str]) -> Response:
        responses = route.integration.get("IntegrationResponses") or [{"StatusCode": "200"}]
        chosen = responses[0]
        answer_headers = _static_headers(chosen.get("ResponseParameters", {}), "method.response.header.")
        origin = headers.get("origin")
        for template in (chosen.get("ResponseTemplates") or {}).values():
            # CDK's preflight for several allowed origins echoes the request's Origin when it is one of them.
            allowed = re.findall(r'\$origin == "([^"]+)"', str(template))
            if origin and origin in allowed and "Access-Control-Allow-Origin" in str(template):
                answer_headers["Access-Control-Allow-Origin"] = origin
        return Response(int(chosen.get("StatusCode", 200)), list(answer_headers.items()), b"")

    def _gateway_error(self, response_type: str, status: int, message: str) -> Response:
        assert self._api is not None
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        configured = self._api.gateway_responses.get(response_type) or self._api.gateway_responses.get(family) or {}
        headers = list(configured.get("headers", {}).items())
        return _json(configured.get("status") or status, {"message": message}, headers)


def _json(status: int, document: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(document).encode())


def _media_matches(content_type: str, pattern: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    pattern = pattern.replace("~1", "/").lower()
    return pattern == "*/*" or kind == pattern or (pattern.endswith("/*") and kind.startswith(pattern[:-1]))


def _is_text(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


Handle = Callable[[str, str, list[tuple[str, str]], bytes, str], Response]


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
