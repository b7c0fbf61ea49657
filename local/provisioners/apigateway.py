"""API Gateway: physical ids only; local.gateway reads the routes from the templates and serves them."""

from __future__ import annotations

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner, short_id


def create_rest_api(context: Context, resource: Resource) -> None:
    api_id = short_id(resource)
    context.physical.set(resource.key, api_id, RestApiId=api_id, RootResourceId=short_id(resource, "root"))
    host = f"{api_id}.execute-api.{context.region}.amazonaws.com"
    context.localise.rewrite(f"https://{host}", context.settings.api_base_url.rstrip("/"))


def _identified(description: str, attribute: str | None = None) -> ResourceProvisioner:
    """A resource that only needs an id (its ``Ref``, and ``attribute`` too when given)."""

    def create(context: Context, resource: Resource) -> None:
        identifier = short_id(resource)
        context.physical.set(resource.key, identifier, **({attribute: identifier} if attribute else {}))

    return ResourceProvisioner(description, create)


def create_stage(context: Context, resource: Resource) -> None:
    context.physical.set(resource.key, context.text(resource, resource.properties.get("StageName", "prod")))


PROVISIONERS = {
    "AWS::ApiGateway::RestApi": ResourceProvisioner("the local gateway", create_rest_api),
    "AWS::ApiGateway::Resource": _identified("a route of the local gateway", "ResourceId"),
    "AWS::ApiGateway::Method": _identified("a route of the local gateway (Lambda proxy or mock integration)"),
    "AWS::ApiGateway::Authorizer": _identified(
        "Cognito ID tokens verified against the run's own signing key", "AuthorizerId"
    ),
    "AWS::ApiGateway::Deployment": _identified("the local gateway serves the deployed methods", "DeploymentId"),
    "AWS::ApiGateway::Stage": ResourceProvisioner("the path prefix of the local gateway", create_stage),
    "AWS::ApiGateway::GatewayResponse": _identified("headers added to the gateway's own error answers"),
}
