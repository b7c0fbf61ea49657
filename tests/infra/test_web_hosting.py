"""The web page's hosting construct in a small stack of its own: private bucket, CloudFront with OAC,
security headers, the deployment of web/ with a runtime config.json, and no cdk-nag finding left."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Environment, Stack
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.config import config_for
from stacks.constructs.web_hosting import WebHosting, content_security_policy
from tests.support.synth import ROOT, only, resources_of

API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/"
RUNTIME_PARAMETERS = ("ApiUrl", "UserPoolId", "UserPoolClientId")
MARKER = re.compile(r"<<marker:0xbaba:\d+>>")


@dataclass(frozen=True)
class WebSynth:
    app: App
    outdir: Path
    template: dict[str, Any]


def _synth(env: str, *, account: str | None, outdir: Path) -> WebSynth:
    app = App(outdir=str(outdir))
    stack = Stack(app, f"WebTest-{env}", env=Environment(account=account, region="eu-west-1" if account else None))
    # Deploy-time tokens, as the API URL and the user pool's ids are in the real app.
    api_url, pool_id, client_id = (CfnParameter(stack, name).value_as_string for name in RUNTIME_PARAMETERS)
    WebHosting(
        stack,
        "Web",
        config=config_for(env),
        site_dir=str(ROOT / "web"),
        runtime_config={
            "apiUrl": api_url,
            "region": stack.region,
            "userPoolId": pool_id,
            "userPoolClientId": client_id,
        },
    )
    assembly = app.synth()
    template = json.loads(Path(assembly.stacks[0].template_full_path).read_text())
    return WebSynth(app=app, outdir=outdir, template=template)


# dev (bucket destroyed, account known) and prod (retained, environment-agnostic as `make synth` without
# credentials): cdk-nag's findings name the CDK asset bucket differently in the two.
@pytest.fixture(scope="module", params=[("dev", "123456789012"), ("prod", None)], ids=["dev", "prod-agnostic"])
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> WebSynth:
    env, account = request.param
    return _synth(env, account=account, outdir=tmp_path_factory.mktemp(f"cdk-web-{env}"))


def _site_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return only(template, "AWS::S3::Bucket", lambda r: "LoggingConfiguration" in r["Properties"])


def _distribution(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]


def test_site_bucket_is_private_encrypted_and_logs_its_access(web: WebSynth) -> None:
    # Given the synthesized web hosting
    # When the site bucket is read
    _, bucket = _site_bucket(web.template)
    props = bucket["Properties"]
    # Then it blocks all public access, encrypts at rest and logs to the log bucket
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert "Ref" in props["LoggingConfiguration"]["DestinationBucketName"]
    assert "WebsiteConfiguration" not in props


def test_site_bucket_policy_denies_plain_http_and_allows_only_the_distribution(web: WebSynth) -> None:
    # Given the site bucket and its policy
    site_id, _ = _site_bucket(web.template)
    _, policy = only(web.template, "AWS::S3::BucketPolicy", lambda r: r["Properties"]["Bucket"] == {"Ref": site_id})
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # When the statements are sorted by effect
    denies = [s for s in statements if s["Effect"] == "Deny"]
    public_reads = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    # Then plain HTTP is refused and CloudFront reads objects only for this distribution (OAC)
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    assert len(public_reads) == 1
    assert public_reads[0]["Action"] == "s3:GetObject"
    source_arn = json.dumps(public_reads[0]["Condition"]["StringEquals"]["AWS:SourceArn"])
    distribution_id = only(web.template, "AWS::CloudFront::Distribution")[0]
    assert distribution_id in source_arn
    assert not any(s.get("Principal") == "*" and s["Effect"] == "Allow" for s in statements)


def test_distribution_reads_the_bucket_through_origin_access_control_not_an_identity(web: WebSynth) -> None:
    # Given the distribution
    config = _distribution(web.template)
    (origin,) = config["Origins"]
    # Then its only origin uses an OAC for S3 with signed requests, and no legacy OAI exists
    oac_id, oac = only(web.template, "AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert resources_of(web.template, "AWS::CloudFront::CloudFrontOriginAccessIdentity") == {}


def test_distribution_serves_index_html_over_https_only_and_logs_requests(web: WebSynth) -> None:
    # Given the distribution
    config = _distribution(web.template)
    # Then plain HTTP is redirected, the root serves index.html, only GET/HEAD pass, and requests are logged
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["Logging"]["Prefix"] == "cloudfront/"
    log_bucket_id = config["Logging"]["Bucket"]["Fn::GetAtt"][0]
    log_bucket = web.template["Resources"][log_bucket_id]["Properties"]
    assert log_bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "ObjectWriter"}]
    assert log_bucket["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_security_headers_allow_scripts_only_from_the_site_and_calls_to_api_cognito_and_s3(web: WebSynth) -> None:
    # Given the response headers policy attached to the distribution
    policy_id, policy = only(web.template, "AWS::CloudFront::ResponseHeadersPolicy")
    assert _distribution(web.template)["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    # When the CSP is read (a Join, since the API URL and region are deploy-time values)
    csp = json.dumps(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    # Then scripts and styles come from the site only, and the API origin is cut out of the API URL
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "https://cognito-idp." in csp
    assert '"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "ApiUrl"}]}]' in csp
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def test_content_security_policy_names_the_api_origin_of_a_known_url() -> None:
    # Given a concrete API stage URL
    # When the CSP is built
    csp = content_security_policy(api_url=API_URL, region="eu-west-1")
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    # Then connect-src names exactly the API's origin (no path), Cognito and the S3 hosts of presigned URLs
    assert directives["connect-src"].split() == [
        "'self'",
        "https://abc123.execute-api.eu-west-1.amazonaws.com",
        "https://cognito-idp.eu-west-1.amazonaws.com",
        "https://*.s3.amazonaws.com",
        "https://*.s3.eu-west-1.amazonaws.com",
    ]
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in csp


def test_deployment_copies_web_and_a_runtime_config_json_then_invalidates_everything(web: WebSynth) -> None:
    # Given the BucketDeployment custom resource
    _, deployment = only(web.template, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    site_id, _ = _site_bucket(web.template)
    # Then it fills the site bucket from two sources, the web/ folder and config.json, and invalidates /*
    assert props["DestinationBucketName"] == {"Ref": site_id}
    assert len(props["SourceObjectKeys"]) == 2
    assert props["DistributionPaths"] == ["/*"]
    assert props["Prune"] is True
    assert props["SystemMetadata"] == {"cache-control": "no-cache"}
    # And config.json holds markers that the deployment replaces with the deploy-time values (JSON strings)
    config_json = _runtime_config_in_assets(web.outdir)
    assert set(config_json) == {"apiUrl", "region", "userPoolId", "userPoolClientId", "cognitoEndpoint"}
    markers = {marker: value for source in props["SourceMarkers"] for marker, value in source.items()}
    for key, parameter in zip(("apiUrl", "userPoolId", "userPoolClientId"), RUNTIME_PARAMETERS, strict=True):
        assert markers[config_json[key]] == {"Fn::Join": ["", ['"', {"Ref": parameter}, '"']]}
    # And the Cognito endpoint is spelled out, for the local mode to point at its emulator
    assert '"https://cognito-idp.' in json.dumps(markers[config_json["cognitoEndpoint"]])


def _runtime_config_in_assets(outdir: Path) -> dict[str, Any]:
    """config.json as staged for the deployment, each deploy-time marker read as the string it stands for."""
    found = [p.read_text() for p in outdir.glob("asset.*/config.json")]
    assert len(found) == 1, f"expected one config.json asset in {outdir}"
    return json.loads(MARKER.sub(lambda m: json.dumps(m.group(0)), found[0]))


def test_deployment_handler_role_writes_only_its_own_log_group(web: WebSynth) -> None:
    # Given the role the deployment handler runs with
    _, deployment = only(web.template, "Custom::CDKBucketDeployment")
    function_id = deployment["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    role_id = web.template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = web.template["Resources"][role_id]["Properties"]
    # Then it has no AWS managed policy (no AWSLambdaBasicExecutionRole with logs:* on every group)
    assert "ManagedPolicyArns" not in role
    Template.from_json(web.template).has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()}
    )


def test_cdk_nag_leaves_no_unacknowledged_finding_on_web_hosting(web: WebSynth) -> None:
    # Given the app with the web hosting construct
    # When AwsSolutions checks run
    report = AwsSolutionsChecks(web.app).validate_scope(web.app)
    # Then nothing is left unacknowledged
    assert [v.rule_name for v in report.violations] == []
