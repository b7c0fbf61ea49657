"""The web page: a private S3 bucket served by CloudFront through origin access control.

The static files in ``site_dir`` are deployed as they are; ``config.json`` next to them is written at
deploy time from ``runtime_config`` (API URL, user pool, client id, region), so the same files work in
every environment and nothing is baked in at build time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Acknowledgment, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from stacks.config import EnvironmentConfig

RUNTIME_CONFIG_FILE = "config.json"
# CDK's singleton function behind every BucketDeployment of a stack.
BUCKET_DEPLOYMENT_HANDLER = "Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C"


def _acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def _origin_of(url: str) -> str:
    """``https://host`` of a URL, also when the URL is a deploy-time token (``https://host/stage/``)."""
    if Token.is_unresolved(url):
        return "https://" + Fn.select(2, Fn.split("/", url))
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def content_security_policy(
    *, api_url: str, region: str, url_suffix: str = "amazonaws.com", api_origin: str | None = None
) -> str:
    """Scripts, styles and the page's own files from the site only; calls to the API, Cognito and S3.

    S3 appears twice: presigned POSTs (upload) and GETs (display) name the bucket in the host, with or
    without the region, depending on the region and the SDK.
    """
    s3_hosts = f"https://*.s3.{url_suffix} https://*.s3.{region}.{url_suffix}"
    cognito = f"https://cognito-idp.{region}.{url_suffix}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' blob: data: {s3_hosts}",
            f"connect-src 'self' {api_origin or _origin_of(api_url)} {cognito} {s3_hosts}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class WebHosting(Construct):
    """Private bucket + CloudFront (OAC, HTTPS only, security headers) + deployment of the page."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        site_dir: str | Path,
        runtime_config: Mapping[str, str],
        api_origin: str | None = None,
    ) -> None:
        """``api_origin`` (``https://host``) when the API URL's token names the API's stage, which in turn
        depends on this distribution (the API allows the page's origin): the origin alone breaks that cycle."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        destroy = config.removal_policy == RemovalPolicy.DESTROY
        private = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
        }
        # CloudFront's standard logs are delivered with ACLs, so this bucket lets the writer own objects.
        self.logs = s3.Bucket(
            self,
            "Logs",
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=config.removal_policy,
            auto_delete_objects=destroy,
            **private,  # type: ignore[arg-type]
        )
        # The site's files are rebuilt from the repository on every deploy: nothing to retain.
        self.bucket = s3.Bucket(
            self,
            "Site",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
            **private,  # type: ignore[arg-type]
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment=f"Security headers of the image pipeline's web page ({config.name})",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(
                        api_url=runtime_config["apiUrl"],
                        region=runtime_config.get("region", stack.region),
                        url_suffix=stack.url_suffix,
                        api_origin=api_origin,
                    ),
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Image pipeline web page ({config.name})",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"

        deploy_logs = logs.LogGroup(
            self, "DeploymentLogs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs to its own group only.
        self.deployment_role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Copies the web page into its bucket and invalidates CloudFront ({config.name})",
        )
        deploy_logs.grant_write(self.deployment_role)
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            sources=[
                s3deploy.Source.asset(str(site_dir)),
                s3deploy.Source.json_data(RUNTIME_CONFIG_FILE, self._runtime_config(stack, runtime_config)),
            ],
            destination_bucket=self.bucket,
            # Browsers revalidate every file (ETags make that cheap), so a deploy is seen at once.
            cache_control=[s3deploy.CacheControl.no_cache()],
            distribution=self.distribution,
            distribution_paths=["/*"],
            role=self.deployment_role,
            log_group=deploy_logs,
            memory_limit=256,
        )
        self._acknowledge_findings(stack)

    @staticmethod
    def _runtime_config(stack: Stack, runtime_config: Mapping[str, str]) -> dict[str, str]:
        """The page's config.json: the given values, plus the Cognito endpoint it signs in with (spelled out
        so that an emulator can stand in for it, as the local mode's moto does)."""
        region = runtime_config.get("region", stack.region)
        return {"cognitoEndpoint": f"https://cognito-idp.{region}.{stack.url_suffix}/", **runtime_config}

    def _acknowledge_findings(self, stack: Stack) -> None:
        _acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the "
            "security policy at TLSv1 whatever minimumProtocolVersion says; TLSv1.2_2021 applies once a "
            "custom domain and ACM certificate are attached.",
        )
        _acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The page is a static sign-in and upload client for any country; every API call behind it "
            "needs a Cognito user, so geo restriction would only shut out users.",
        )
        _acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "The distribution serves a few static files from a private bucket (no origin compute to "
            "protect); the API that does the work has its own throttling and, in prod, WAF.",
        )
        handler = next(c for c in stack.node.children if c.node.id.startswith(BUCKET_DEPLOYMENT_HANDLER))
        _acknowledge(
            handler,
            "AwsSolutions-L1",
            "CDK's own BucketDeployment handler (a pre-built asset that runs only at deploy time); its "
            "runtime is chosen by aws-cdk-lib and moves with it.",
        )
        policy = self.deployment_role.node.find_child("DefaultPolicy")
        site_arn = f"<{stack.get_logical_id(self.bucket.node.default_child)}.Arn>"  # type: ignore[arg-type]
        wildcards = {
            "Action::s3:GetObject*": "CDK's grant to read the deployment's asset and the site bucket.",
            "Action::s3:GetBucket*": "CDK's grant to read the deployment's asset and the site bucket.",
            "Action::s3:List*": "CDK's grant to list the asset and the site bucket (the sync compares them).",
            "Action::s3:DeleteObject*": "CDK's grant to prune files no longer in web/ from the site bucket.",
            "Action::s3:Abort*": "CDK's grant to abort its own multipart uploads into the site bucket.",
            f"Resource::arn:<AWS::Partition>:s3:::{_asset_bucket(stack)}/*": "Read of the CDK asset "
            "bucket's objects (the zipped web/ folder); asset keys are content hashes chosen at synth.",
            f"Resource::{site_arn}/*": "Every object of the site bucket: the deployment owns the whole bucket.",
            "Resource::*": "cloudfront:CreateInvalidation/GetInvalidation, which CDK's BucketDeployment "
            "grants on every distribution.",
        }
        for finding, reason in wildcards.items():
            _acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", f"BucketDeployment handler: {reason}")


def _asset_bucket(stack: Stack) -> str:
    """The CDK asset bucket's name as cdk-nag spells it in a finding (unresolved parts in angle brackets)."""
    synthesizer = stack.synthesizer
    qualifier = getattr(synthesizer, "bootstrap_qualifier", None) or DefaultStackSynthesizer.DEFAULT_QUALIFIER
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    return (
        DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace("${Qualifier}", qualifier)
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
    )
