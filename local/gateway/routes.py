"""The routes of every REST API in the assembly, read from its RestApi, Resource, Method, Authorizer,
Stage and GatewayResponse resources, matched like API Gateway (literal segments before ``{param}``
before ``{proxy+}``; method ``ANY`` matches every method)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from local.cfn.assembly import Resource
from local.provisioners import Provisioned


@dataclass(frozen=True)
class CognitoAuthorizer:
    name: str
    pool_ids: tuple[str, ...]
    identity_header: str


@dataclass(frozen=True)
class GatewayRoute:
    api_id: str
    stage: str
    path: str  # the resource path with its parameters: /images/{imageId}
    method: str  # GET, POST, ..., ANY
    resource_id: str
    integration: dict[str, Any]
    authorizer: CognitoAuthorizer | None
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
class GatewayApi:
    routes: list[GatewayRoute] = field(default_factory=list)
    gateway_responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> {status, headers}
    binary_media_types: tuple[str, ...] = ()


def build_api(provisioned: Provisioned) -> GatewayApi:
    """Routes of every REST API in the assembly, read from its templates."""
    assembly, value = provisioned.assembly, provisioned.value
    api = GatewayApi()
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
            # local.provisioners.resource_types ignores models and validators because the API function validates itself
            raise ValueError(f"{method.logical_id}: API Gateway request validation is not emulated")
        authorization = props.get("AuthorizationType", "NONE")
        authorizer = None
        if authorization == "COGNITO_USER_POOLS":
            authorizer = authorizers[value(method.stack, props["AuthorizerId"])]
        elif authorization not in ("NONE", None):
            raise ValueError(f"{method.logical_id}: authorization {authorization} is not emulated")
        for stage_name in stages.get(api_id, ["prod"]):
            api.routes.append(
                GatewayRoute(
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
    api.routes.sort(key=GatewayRoute.priority)
    for response in assembly.resources("AWS::ApiGateway::GatewayResponse"):
        props = value(response.stack, response.properties)
        api.gateway_responses[props["ResponseType"]] = {
            "status": int(props["StatusCode"]) if "StatusCode" in props else None,
            "headers": static_headers(props.get("ResponseParameters", {}), "gatewayresponse.header."),
        }
    return api


def _authorizer(resource: Resource, provisioned: Provisioned) -> CognitoAuthorizer:
    props = provisioned.value(resource.stack, resource.properties)
    if props.get("Type") != "COGNITO_USER_POOLS":
        raise ValueError(f"{resource.logical_id}: authorizer type {props.get('Type')} is not emulated")
    pools = tuple(str(arn).rsplit("/", 1)[-1] for arn in props.get("ProviderARNs", []))
    source = str(props.get("IdentitySource", "method.request.header.Authorization"))
    return CognitoAuthorizer(resource.logical_id, pools, source.rsplit(".", 1)[-1])


def static_headers(parameters: dict[str, Any], prefix: str) -> dict[str, str]:
    """``{"method.response.header.X": "'v'"}`` -> ``{"X": "v"}`` (static values only)."""
    headers = {}
    for name, raw in parameters.items():
        text = str(raw)
        if name.startswith(prefix) and len(text) >= 2 and text[0] == text[-1] == "'":
            headers[name[len(prefix) :]] = text[1:-1]
    return headers
