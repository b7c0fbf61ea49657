"""The private image bucket (uploads land under a prefix) and its access-log bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from image_pipeline.results.domain.documents import RESULTS_PREFIX
from stacks.config import EnvironmentConfig


class ImageStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        destroy = config.removal_policy == RemovalPolicy.DESTROY
        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "removal_policy": config.removal_policy,
            "auto_delete_objects": destroy,
        }
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            **common,  # type: ignore[arg-type]
        )
        self.bucket = s3.Bucket(
            self,
            "Images",
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="images/",
            versioned=not destroy,
            # Browsers upload with the API's presigned POST (the page's progress bar makes them preflight).
            # Any origin: the signed policy, not the origin, decides what is accepted, and the page's
            # CloudFront URL cannot be named here without a cycle (the Api stack depends on this one).
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    max_age=3600,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(config.incomplete_upload_days),
                ),
                s3.LifecycleRule(
                    id="ExpireOldVersions",
                    noncurrent_version_expiration=Duration.days(30),
                ),
                # Documents of results too large for an event exist for webhook links: they live as long as a
                # delivery can be resent (the API reads results from the table), and a document written in the
                # moment its image was deleted does not stay.
                s3.LifecycleRule(
                    id="ExpireResultDocuments",
                    prefix=RESULTS_PREFIX,
                    expiration=Duration.days(config.webhooks.delivery_retention_days),
                ),
            ],
            **common,  # type: ignore[arg-type]
        )
