"""S3: buckets, their notification configuration (CDK's custom resource) and BucketDeployment's assets."""

from __future__ import annotations

import json
import mimetypes
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.cfn.assembly import Resource
from local.provisioners.base import Context, ResourceProvisioner, UnsupportedResource


def create_bucket(context: Context, resource: Resource) -> None:
    props = resource.properties
    name = context.name(resource, "BucketName", 63, lower=True)
    s3 = context.clients["s3"]
    s3.create_bucket(Bucket=name)
    if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    cors = props.get("CorsConfiguration", {}).get("CorsRules")
    if cors:
        rules = []
        for rule in context.value(resource, cors):
            converted = {
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedOrigins": context.localise(rule["AllowedOrigins"]),
            }
            for source, target in (
                ("AllowedHeaders", "AllowedHeaders"),
                ("ExposedHeaders", "ExposeHeaders"),
                ("MaxAge", "MaxAgeSeconds"),
                ("Id", "ID"),
            ):
                if source in rule:
                    converted[target] = rule[source]
            rules.append(converted)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    region = context.region
    context.physical.set(
        resource.key,
        name,
        Arn=f"arn:aws:s3:::{name}",
        DomainName=f"{name}.s3.amazonaws.com",
        RegionalDomainName=f"{name}.s3.{region}.amazonaws.com",
        DualStackDomainName=f"{name}.s3.dualstack.{region}.amazonaws.com",
        WebsiteURL=f"http://{name}.s3-website-{region}.amazonaws.com",
    )


def create_bucket_notifications(context: Context, resource: Resource) -> None:
    props = resource.properties
    bucket = context.text(resource, props["BucketName"])
    configuration = context.value(resource, props.get("NotificationConfiguration", {}))
    if configuration.get("LambdaFunctionConfigurations"):
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: S3 -> Lambda notifications")
    allowed = {"TopicConfigurations", "QueueConfigurations", "EventBridgeConfiguration"}
    context.clients["s3"].put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={k: v for k, v in configuration.items() if k in allowed}
    )
    context.physical.set(resource.key, f"{bucket}-notifications")


def create_bucket_deployment(context: Context, resource: Resource) -> None:
    props = resource.properties
    bucket = context.text(resource, props["DestinationBucketName"])
    prefix = context.text(resource, props.get("DestinationBucketKeyPrefix", ""))
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    keys = context.value(resource, props["SourceObjectKeys"])
    markers = props.get("SourceMarkers", [{} for _ in keys])
    configs = props.get("SourceMarkersConfig", [{} for _ in keys])
    s3 = context.clients["s3"]
    for index, key in enumerate(keys):
        replacements = {
            marker: _marker_value(context, resource, value, bool(configs[index].get("jsonEscape")))
            for marker, value in (markers[index] or {}).items()
        }
        for relative, body in _asset_files(context.assembly.asset(resource.stack, key)):
            for marker, value in replacements.items():
                body = body.replace(marker.encode(), value.encode())
            content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
            s3.put_object(Bucket=bucket, Key=prefix + relative, Body=body, ContentType=content_type)
    context.physical.set(resource.key, f"{bucket}-deployment")


def _marker_value(context: Context, resource: Resource, expression: Any, json_escape: bool) -> str:
    value = context.localise(context.value(resource, expression))
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1] if json_escape else text


def _asset_files(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                yield file.relative_to(path).as_posix(), file.read_bytes()
        return
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, archive.read(info)
        return
    yield path.name, path.read_bytes()


PROVISIONERS = {
    "AWS::S3::Bucket": ResourceProvisioner("a moto bucket (versioning, CORS rules)", create_bucket),
    "Custom::S3BucketNotifications": ResourceProvisioner(
        "the bucket's notification configuration in moto, with its filters", create_bucket_notifications
    ),
    "Custom::CDKBucketDeployment": ResourceProvisioner(
        "the deployment's assets copied into the moto bucket, markers substituted", create_bucket_deployment
    ),
}
