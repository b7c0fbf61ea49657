"""The Api stack: routes, sign-in on every data route, access logs, throttling, validation, CORS, WAF, web page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.constructs.rest_api import ROUTES
from tests.support.synth import Synthesized, resources_of

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())


@pytest.fixture(scope="session")
def api(synthesized: Synthesized) -> Template:
    return Template.from_json(synthesized.template("Api"))


def _paths(template: dict[str, Any]) -> dict[str, str]:
    """Resource logical id -> its full path, from the template's parent links."""
    resources = resources_of(template, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def _methods(synthesized: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    template = synthesized.template("Api")
    paths = _paths(template)
    return {
        (props["HttpMethod"], paths[props["ResourceId"]["Ref"]]): props
        for props in (m["Properties"] for m in resources_of(template, "AWS::ApiGateway::Method").values())
        if "Ref" in props["ResourceId"]
    }


def test_the_api_routes_are_exactly_the_functions_openapi_operations(synthesized: Synthesized) -> None:
    # Given the routes API Gateway sends to the function and the operations the function documents
    routed = {(method, path) for method, path in _methods(synthesized) if method != "OPTIONS"}
    documented = {(method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item}
    public = {(route.method, route.path) for route in ROUTES if route.public}
    # Then they are the same set: no route without code, no code without a route
    assert routed - public == documented


def test_every_data_route_requires_a_cognito_id_token(synthesized: Synthesized) -> None:
    public = {(route.method, route.path) for route in ROUTES if route.public}
    for (method, path), props in _methods(synthesized).items():
        if method == "OPTIONS" or (method, path) in public:
            assert props["AuthorizationType"] == "NONE", (method, path)
        else:
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", (method, path)
            assert "AuthorizerId" in props, (method, path)


def test_every_method_validates_its_request(synthesized: Synthesized) -> None:
    for (method, path), props in _methods(synthesized).items():
        if method != "OPTIONS":
            assert "RequestValidatorId" in props, (method, path)


def test_the_authorizer_reads_the_authorization_header_against_the_user_pool(api: Template) -> None:
    api.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "COGNITO_USER_POOLS", "IdentitySource": "method.request.header.Authorization"},
    )


def test_the_stage_logs_access_as_json_traces_and_throttles_from_config(
    api: Template, synthesized: Synthesized
) -> None:
    config = synthesized.pipeline.config
    api.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
            "TracingEnabled": True,
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "ThrottlingRateLimit": config.api_rate_limit,
                            "ThrottlingBurstLimit": config.api_burst_limit,
                            "LoggingLevel": "ERROR",
                        }
                    )
                ]
            ),
        },
    )


def test_cors_preflight_allows_the_web_page_origin_only(synthesized: Synthesized) -> None:
    preflights = [props for (method, _), props in _methods(synthesized).items() if method == "OPTIONS"]
    assert preflights
    for props in preflights:
        headers = props["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        origin = json.dumps(headers["method.response.header.Access-Control-Allow-Origin"])
        assert "Distribution" in origin
        assert "*" not in origin


def test_the_firewall_guards_the_stage_only_where_the_config_switches_it_on(
    api: Template, synthesized: Synthesized
) -> None:
    expected = 1 if synthesized.pipeline.config.api_waf else 0
    api.resource_count_is("AWS::WAFv2::WebACL", expected)
    api.resource_count_is("AWS::WAFv2::WebACLAssociation", expected)


def test_the_function_reaches_only_the_upload_prefix_and_the_results_table(synthesized: Synthesized) -> None:
    policies = json.dumps(resources_of(synthesized.template("Api"), "AWS::IAM::Policy"))
    assert '"s3:*"' not in policies
    assert '"dynamodb:*"' not in policies
    assert "/uploads/*" in policies


def test_the_function_may_only_delete_result_documents(synthesized: Synthesized) -> None:
    # Given the API function's S3 grants on the results prefix
    statements = [
        statement
        for policy in resources_of(synthesized.template("Api"), "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "/results/*" in json.dumps(statement.get("Resource"))
    ]
    # Then DELETE /images/{id} may remove a result document (every version) and do nothing else with it
    assert [sorted(statement["Action"]) for statement in statements] == [["s3:DeleteObject", "s3:DeleteObjectVersion"]]


def test_the_web_page_is_a_private_bucket_behind_cloudfront_with_origin_access_control(api: Template) -> None:
    api.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    api.resource_count_is("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0)
    api.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultRootObject": "index.html",
                    "Origins": [Match.object_like({"OriginAccessControlId": Match.any_value()})],
                }
            )
        },
    )
    for bucket in resources_of(api.to_json(), "AWS::S3::Bucket").values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }


def test_the_page_gets_its_runtime_config_at_deploy_time(api: Template) -> None:
    deployment = json.dumps(resources_of(api.to_json(), "Custom::CDKBucketDeployment"))
    assert "SourceMarkers" in deployment  # config.json carries deploy-time values, not build-time ones


def test_the_image_bucket_lets_browsers_post_uploads_and_nothing_else(synthesized: Synthesized) -> None:
    buckets = resources_of(synthesized.template("Data"), "AWS::S3::Bucket")
    rules = [
        b["Properties"]["CorsConfiguration"]["CorsRules"]
        for b in buckets.values()
        if "CorsConfiguration" in b["Properties"]
    ]
    assert len(rules) == 1
    assert [rule["AllowedMethods"] for rule in rules[0]] == [["POST"]]


def test_the_function_may_only_send_to_the_upload_queue_for_reanalysis(synthesized: Synthesized) -> None:
    # Given the API function's environment and every policy statement of the Api stack that names SQS
    template = synthesized.template("Api")
    [function] = [
        f
        for f in resources_of(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "image_pipeline.handlers.api.handler"
    ]
    queue_url = json.dumps(function["Properties"]["Environment"]["Variables"]["UPLOAD_QUEUE_URL"])
    statements = [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "UploadFanout" in json.dumps(statement["Resource"])
    ]
    # Then the URL is the upload queue's, and the grant on it is sending only
    assert "UploadFanout" in queue_url
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert "sqs:SendMessage" in actions
    assert actions <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
