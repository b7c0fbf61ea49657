"""Creates what the templates declare, in moto, in dependency order; records each resource's physical ids.

Functions, event source mappings, API Gateway and CloudFront resources are not created in moto:
they get physical ids here and are run by local.runtime, local.sqs_poller, local.gateway and local.web.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import secrets
import string
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.assembly import Assembly, AssemblyError, PhysicalIds, Resolver, Resource, ResourceKey
from local.resource_types import classify

ACCOUNT = "123456789012"
DEMO_USERNAME = "demo"


class UnsupportedResource(AssemblyError):
    pass


@dataclass(frozen=True)
class FunctionDefinition:
    resource: Resource
    function_name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    reserved_concurrency: int | None


@dataclass(frozen=True)
class MappingDefinition:
    resource: Resource
    function_arn: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    max_concurrency: int | None
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class SnsLambdaSubscription:
    """An SNS -> Lambda subscription, carried by a hidden queue (moto would invoke Lambda in Docker)."""

    resource: Resource
    function_arn: str
    topic_arn: str
    queue_url: str
    queue_arn: str
    subscription_arn: str


@dataclass
class Provisioned:
    """Everything the other parts of the local mode need to know about what was created."""

    assembly: Assembly
    physical: PhysicalIds
    resolver: Resolver
    localise: Callable[[Any], Any]
    functions: list[FunctionDefinition] = field(default_factory=list)
    mappings: list[MappingDefinition] = field(default_factory=list)
    sns_lambda: list[SnsLambdaSubscription] = field(default_factory=list)
    user_pool_clients: dict[str, list[str]] = field(default_factory=dict)  # pool id -> client ids
    demo_password: str = ""
    ignored: list[tuple[Resource, str]] = field(default_factory=list)

    def value(self, stack: str, expression: Any) -> Any:
        """A template value resolved and made local (https://<api>.execute-api… -> http://127.0.0.1:<port>…)."""
        return self.localise(self.resolver(stack, expression))


def aws_clients(endpoint: str, region: str) -> dict[str, Any]:
    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    return {
        name: session.client(name, endpoint_url=endpoint, config=config)
        for name in ("s3", "sqs", "sns", "dynamodb", "cognito-idp")
    }


def physical_name(resource: Resource, limit: int, *, lower: bool = False, suffix: str = "") -> str:
    """Like CloudFormation's generated names: stack and logical id, shortened, with a stable hash."""
    digest = hashlib.sha256(f"{resource.stack}/{resource.logical_id}".encode()).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9-]", "-", f"{resource.stack}-{resource.logical_id}")
    name = f"{base[: limit - len(digest) - len(suffix) - 1]}-{digest}{suffix}"
    return name.lower() if lower else name


def demo_password() -> str:
    """Meets any Cognito password policy: long, with every character class."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20)) + "aA1!"


class Provisioner:
    def __init__(
        self,
        assembly: Assembly,
        clients: dict[str, Any],
        *,
        region: str,
        api_base_url: str,
        web_host: str,
        work_dir: Path,
        aws_endpoint: str,
    ) -> None:
        self.assembly = assembly
        self.clients = clients
        self.region = region
        self.physical = PhysicalIds()
        self.resolver = Resolver(assembly, self.physical, region=region, account=ACCOUNT)
        self._api_base_url = api_base_url.rstrip("/")
        self._web_host = web_host
        self._work_dir = work_dir
        self._rewrites: list[tuple[re.Pattern[str], str]] = [
            (re.compile(r"https://(127\.0\.0\.1|localhost)(?=[:/]|$)"), r"http://\1"),
            # The Cognito service endpoint (not a pool's issuer URL, which tokens carry as it is).
            (
                re.compile(rf"https://cognito-idp\.{re.escape(region)}\.amazonaws\.com(/?)(?=$|\")"),
                aws_endpoint + r"\1",
            ),
        ]
        self._queue_urls: dict[str, str] = {}  # arn -> url
        self.provisioned = Provisioned(assembly, self.physical, self.resolver, self.localise)

    # -- values -----------------------------------------------------------------------------------
    def localise(self, value: Any) -> Any:
        if isinstance(value, str):
            for pattern, replacement in self._rewrites:
                value = pattern.sub(replacement, value)
            return value
        if isinstance(value, list):
            return [self.localise(item) for item in value]
        if isinstance(value, dict):
            return {key: self.localise(item) for key, item in value.items()}
        return value

    def _value(self, resource: Resource, expression: Any) -> Any:
        return self.resolver(resource.stack, expression)

    def _text(self, resource: Resource, expression: Any) -> str:
        return self.resolver.text(resource.stack, expression)

    # -- order ------------------------------------------------------------------------------------
    def run(self) -> Provisioned:
        run, ignored, unsupported = classify(self.assembly)
        if unsupported:
            listed = ", ".join(sorted({f"{r.type} ({r.stack}/{r.logical_id})" for r in unsupported}))
            raise UnsupportedResource(f"the local mode cannot run: {listed}")
        self.provisioned.ignored = ignored
        for resource, _ in ignored:
            self.physical.set_placeholder(resource.key, f"local:{resource.logical_id}")
        for resource in self._in_dependency_order(run):
            creator = getattr(self, "_create_" + re.sub(r"\W+", "_", resource.type).strip("_").lower())
            creator(resource)
        self._create_demo_users()
        return self.provisioned

    def _in_dependency_order(self, resources: list[Resource]) -> Iterator[Resource]:
        by_key = {resource.key: resource for resource in resources}
        done: set[ResourceKey] = set()
        visiting: set[ResourceKey] = set()
        ordered: list[Resource] = []

        def visit(resource: Resource) -> None:
            if resource.key in done:
                return
            if resource.key in visiting:
                raise AssemblyError(f"dependency cycle through {resource.stack}/{resource.logical_id}")
            visiting.add(resource.key)
            for dependency in sorted(self.assembly.references(resource.stack, resource.properties)):
                if dependency in by_key:
                    visit(by_key[dependency])
            visiting.discard(resource.key)
            done.add(resource.key)
            ordered.append(resource)

        for resource in resources:
            visit(resource)
        return iter(ordered)

    # -- storage and messaging --------------------------------------------------------------------
    def _create_aws_s3_bucket(self, resource: Resource) -> None:
        props = resource.properties
        name = (
            self._text(resource, props["BucketName"])
            if "BucketName" in props
            else physical_name(resource, 63, lower=True)
        )
        s3 = self.clients["s3"]
        s3.create_bucket(Bucket=name)
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        cors = props.get("CorsConfiguration", {}).get("CorsRules")
        if cors:
            rules = []
            for rule in self._value(resource, cors):
                converted = {
                    "AllowedMethods": rule["AllowedMethods"],
                    "AllowedOrigins": self.localise(rule["AllowedOrigins"]),
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
        self.physical.set(
            resource.key,
            name,
            Arn=f"arn:aws:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{self.region}.amazonaws.com",
            DualStackDomainName=f"{name}.s3.dualstack.{self.region}.amazonaws.com",
            WebsiteURL=f"http://{name}.s3-website-{self.region}.amazonaws.com",
        )

    def _create_aws_dynamodb_globaltable(self, resource: Resource) -> None:
        self._create_aws_dynamodb_table(resource)

    def _create_aws_dynamodb_table(self, resource: Resource) -> None:
        props = resource.properties
        name = self._text(resource, props["TableName"]) if "TableName" in props else physical_name(resource, 255)
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = [
            {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
            for gsi in props.get("GlobalSecondaryIndexes", [])
        ]
        if indexes:
            arguments["GlobalSecondaryIndexes"] = indexes
        local_indexes = [
            {"IndexName": lsi["IndexName"], "KeySchema": lsi["KeySchema"], "Projection": lsi["Projection"]}
            for lsi in props.get("LocalSecondaryIndexes", [])
        ]
        if local_indexes:
            arguments["LocalSecondaryIndexes"] = local_indexes
        stream = props.get("StreamSpecification")
        if stream:
            arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        dynamodb = self.clients["dynamodb"]
        table = dynamodb.create_table(**arguments)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        self.physical.set(resource.key, name, Arn=table["TableArn"], StreamArn=table.get("LatestStreamArn", ""))

    def _create_aws_sns_topic(self, resource: Resource) -> None:
        props = resource.properties
        fifo = bool(props.get("FifoTopic"))
        name = (
            self._text(resource, props["TopicName"])
            if "TopicName" in props
            else physical_name(resource, 256, suffix=".fifo" if fifo else "")
        )
        attributes: dict[str, str] = {}
        if fifo:
            attributes["FifoTopic"] = "true"
            if props.get("ContentBasedDeduplication"):
                attributes["ContentBasedDeduplication"] = "true"
        arn = self.clients["sns"].create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self.physical.set(resource.key, arn, TopicArn=arn, TopicName=name)

    def _create_aws_sqs_queue(self, resource: Resource) -> None:
        props = resource.properties
        fifo = bool(props.get("FifoQueue"))
        name = (
            self._text(resource, props["QueueName"])
            if "QueueName" in props
            else physical_name(resource, 80, suffix=".fifo" if fifo else "")
        )
        attributes: dict[str, str] = {
            key: str(self._value(resource, props[key])).lower()
            if isinstance(props[key], bool)
            else str(self._value(resource, props[key]))
            for key in (
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "DelaySeconds",
                "MaximumMessageSize",
                "ReceiveMessageWaitTimeSeconds",
                "FifoQueue",
                "ContentBasedDeduplication",
            )
            if key in props
        }
        if "RedrivePolicy" in props:
            redrive = self._value(resource, props["RedrivePolicy"])
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": redrive["maxReceiveCount"]}
            )
        sqs = self.clients["sqs"]
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._queue_urls[arn] = url
        self.physical.set(resource.key, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _create_aws_sns_subscription(self, resource: Resource) -> None:
        props = resource.properties
        protocol = props["Protocol"]
        topic_arn = self._text(resource, props["TopicArn"])
        endpoint = self._text(resource, props["Endpoint"])
        attributes: dict[str, str] = {}
        for key in ("RawMessageDelivery", "FilterPolicyScope"):
            if key in props:
                value = self._value(resource, props[key])
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        for key in ("FilterPolicy", "RedrivePolicy"):
            if key in props:
                attributes[key] = json.dumps(self._value(resource, props[key]))
        sns, sqs = self.clients["sns"], self.clients["sqs"]
        if protocol == "lambda":
            # moto would hand the message to its own Lambda (Docker). A hidden queue carries it to the local function.
            name = physical_name(resource, 80, suffix="-bridge")
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes.pop("RawMessageDelivery", None)
            arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)[
                "SubscriptionArn"
            ]
            self.provisioned.sns_lambda.append(
                SnsLambdaSubscription(resource, endpoint, topic_arn, url, queue_arn, arn)
            )
        elif protocol in ("sqs", "http", "https", "email", "email-json", "sms"):
            arn = sns.subscribe(
                TopicArn=topic_arn, Protocol=protocol, Endpoint=self.localise(endpoint), Attributes=attributes
            )["SubscriptionArn"]
        else:
            raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: SNS protocol {protocol}")
        self.physical.set(resource.key, arn)

    def _create_custom_s3bucketnotifications(self, resource: Resource) -> None:
        props = resource.properties
        bucket = self._text(resource, props["BucketName"])
        configuration = self._value(resource, props.get("NotificationConfiguration", {}))
        if configuration.get("LambdaFunctionConfigurations"):
            raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: S3 -> Lambda notifications")
        allowed = {"TopicConfigurations", "QueueConfigurations", "EventBridgeConfiguration"}
        self.clients["s3"].put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={k: v for k, v in configuration.items() if k in allowed}
        )
        self.physical.set(resource.key, f"{bucket}-notifications")

    # -- compute ----------------------------------------------------------------------------------
    def _create_aws_lambda_function(self, resource: Resource) -> None:
        props = resource.properties
        runtime = str(props.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: runtime {runtime or 'image'}")
        name = self._text(resource, props["FunctionName"]) if "FunctionName" in props else physical_name(resource, 64)
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}"
        # Set before resolving the environment: a function may name itself.
        self.physical.set(resource.key, name, Arn=arn)
        variables = props.get("Environment", {}).get("Variables", {})
        environment = {key: str(self.localise(self._value(resource, value))) for key, value in variables.items()}
        reserved = props.get("ReservedConcurrentExecutions")
        self.provisioned.functions.append(
            FunctionDefinition(
                resource=resource,
                function_name=name,
                arn=arn,
                handler=str(props["Handler"]),
                code_dir=self._code_dir(resource, props["Code"]),
                environment=environment,
                timeout_seconds=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                reserved_concurrency=int(reserved) if reserved is not None else None,
            )
        )

    def _code_dir(self, resource: Resource, code: dict[str, Any]) -> Path:
        if "ZipFile" in code:
            target = self._work_dir / "code" / resource.logical_id
            target.mkdir(parents=True, exist_ok=True)
            (target / "index.py").write_text(self._text(resource, code["ZipFile"]))
            return target
        if "S3Key" not in code:
            raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: code from {sorted(code)}")
        source = self.assembly.asset(resource.stack, self._text(resource, code["S3Key"]))
        if source.is_dir():
            return source
        target = self._work_dir / "code" / source.stem
        if not target.exists():
            with zipfile.ZipFile(source) as archive:
                archive.extractall(target)
        return target

    def _create_aws_lambda_eventsourcemapping(self, resource: Resource) -> None:
        props = resource.properties
        source = self._text(resource, props["EventSourceArn"])
        if ":sqs:" not in source:
            raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: event source {source}")
        if props.get("FilterCriteria"):
            # Lambda deletes the messages no filter matches without invoking; the poller would hand them over.
            raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: FilterCriteria")
        function = self._text(resource, props["FunctionName"])
        if not function.startswith("arn:"):
            function = f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{function}"
        scaling = props.get("ScalingConfig", {})
        self.provisioned.mappings.append(
            MappingDefinition(
                resource=resource,
                function_arn=function,
                queue_url=self._queue_urls[source],
                queue_arn=source,
                batch_size=int(props.get("BatchSize", 10)),
                batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                max_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
                report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                enabled=bool(props.get("Enabled", True)),
            )
        )
        self.physical.set(resource.key, secrets.token_hex(16))

    # -- identity ---------------------------------------------------------------------------------
    def _create_aws_cognito_userpool(self, resource: Resource) -> None:
        props = self._value(resource, resource.properties)
        name = props.get("UserPoolName") or physical_name(resource, 128)
        arguments: dict[str, Any] = {"PoolName": name}
        for key in (
            "Policies",
            "UsernameAttributes",
            "AliasAttributes",
            "AutoVerifiedAttributes",
            "Schema",
            "UsernameConfiguration",
            "AdminCreateUserConfig",
            "AccountRecoverySetting",
        ):
            if key in props:
                arguments[key] = props[key]
        policy = arguments.get("Policies", {}).get("PasswordPolicy")
        if policy:
            arguments["Policies"] = {"PasswordPolicy": _password_policy(policy)}
        for attribute in arguments.get("Schema", []):
            constraints = attribute.get("StringAttributeConstraints")
            if constraints:
                attribute["StringAttributeConstraints"] = {k: str(v) for k, v in constraints.items()}
        pool = self.clients["cognito-idp"].create_user_pool(**arguments)["UserPool"]
        pool_id = pool["Id"]
        provider = f"cognito-idp.{self.region}.amazonaws.com/{pool_id}"
        self.provisioned.user_pool_clients[pool_id] = []
        self.physical.set(
            resource.key,
            pool_id,
            Arn=pool["Arn"],
            ProviderName=provider,
            ProviderURL=f"https://{provider}",
            UserPoolId=pool_id,
        )

    def _create_aws_cognito_userpoolclient(self, resource: Resource) -> None:
        props = self._value(resource, resource.properties)
        pool_id = props["UserPoolId"]
        arguments: dict[str, Any] = {
            "UserPoolId": pool_id,
            "ClientName": props.get("ClientName") or physical_name(resource, 128),
        }
        for key in (
            "GenerateSecret",
            "ExplicitAuthFlows",
            "RefreshTokenValidity",
            "AccessTokenValidity",
            "IdTokenValidity",
            "TokenValidityUnits",
            "PreventUserExistenceErrors",
            "EnableTokenRevocation",
            "SupportedIdentityProviders",
            "CallbackURLs",
            "LogoutURLs",
            "AllowedOAuthFlows",
            "AllowedOAuthScopes",
            "AllowedOAuthFlowsUserPoolClient",
            "ReadAttributes",
            "WriteAttributes",
        ):
            if key in props:
                arguments[key] = self.localise(props[key])
        client = self.clients["cognito-idp"].create_user_pool_client(**arguments)["UserPoolClient"]
        self.provisioned.user_pool_clients.setdefault(pool_id, []).append(client["ClientId"])
        self.physical.set(resource.key, client["ClientId"], ClientId=client["ClientId"], Name=client["ClientName"])

    def _create_aws_cognito_userpoolgroup(self, resource: Resource) -> None:
        props = self._value(resource, resource.properties)
        name = props.get("GroupName") or resource.logical_id
        arguments = {"UserPoolId": props["UserPoolId"], "GroupName": name}
        if "Precedence" in props:
            arguments["Precedence"] = int(props["Precedence"])
        self.clients["cognito-idp"].create_group(**arguments)
        self.physical.set(resource.key, name)

    def _create_demo_users(self) -> None:
        if not self.provisioned.user_pool_clients:
            return
        password = demo_password()
        cognito = self.clients["cognito-idp"]
        for pool_id in self.provisioned.user_pool_clients:
            cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=DEMO_USERNAME,
                UserAttributes=[
                    {"Name": "email", "Value": "demo@example.com"},
                    {"Name": "email_verified", "Value": "true"},
                ],
                MessageAction="SUPPRESS",
            )
            cognito.admin_set_user_password(
                UserPoolId=pool_id, Username=DEMO_USERNAME, Password=password, Permanent=True
            )
        self.provisioned.demo_password = password

    # -- API Gateway and CloudFront: ids only; local.gateway and local.web read the templates ----------
    def _create_aws_apigateway_restapi(self, resource: Resource) -> None:
        api_id = _short_id(resource)
        self.physical.set(resource.key, api_id, RestApiId=api_id, RootResourceId=_short_id(resource, "root"))
        host = f"{api_id}.execute-api.{self.region}.amazonaws.com"
        self._rewrites.insert(0, (re.compile(rf"https://{re.escape(host)}"), self._api_base_url))

    def _create_aws_apigateway_resource(self, resource: Resource) -> None:
        self.physical.set(resource.key, _short_id(resource), ResourceId=_short_id(resource))

    def _create_aws_apigateway_method(self, resource: Resource) -> None:
        self.physical.set(resource.key, _short_id(resource))

    def _create_aws_apigateway_authorizer(self, resource: Resource) -> None:
        self.physical.set(resource.key, _short_id(resource), AuthorizerId=_short_id(resource))

    def _create_aws_apigateway_deployment(self, resource: Resource) -> None:
        self.physical.set(resource.key, _short_id(resource), DeploymentId=_short_id(resource))

    def _create_aws_apigateway_stage(self, resource: Resource) -> None:
        self.physical.set(resource.key, self._text(resource, resource.properties.get("StageName", "prod")))

    def _create_aws_apigateway_gatewayresponse(self, resource: Resource) -> None:
        self.physical.set(resource.key, _short_id(resource))

    def _create_aws_cloudfront_distribution(self, resource: Resource) -> None:
        distribution_id = _short_id(resource).upper()
        self.physical.set(resource.key, distribution_id, DomainName=self._web_host, Id=distribution_id)

    def _create_custom_cdkbucketdeployment(self, resource: Resource) -> None:
        props = resource.properties
        bucket = self._text(resource, props["DestinationBucketName"])
        prefix = self._text(resource, props.get("DestinationBucketKeyPrefix", ""))
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        keys = self._value(resource, props["SourceObjectKeys"])
        markers = props.get("SourceMarkers", [{} for _ in keys])
        configs = props.get("SourceMarkersConfig", [{} for _ in keys])
        s3 = self.clients["s3"]
        for index, key in enumerate(keys):
            replacements = {
                marker: self._marker_value(resource, value, bool(configs[index].get("jsonEscape")))
                for marker, value in (markers[index] or {}).items()
            }
            for relative, body in _asset_files(self.assembly.asset(resource.stack, key)):
                for marker, value in replacements.items():
                    body = body.replace(marker.encode(), value.encode())
                content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
                s3.put_object(Bucket=bucket, Key=prefix + relative, Body=body, ContentType=content_type)
        self.physical.set(resource.key, f"{bucket}-deployment")

    def _marker_value(self, resource: Resource, expression: Any, json_escape: bool) -> str:
        value = self.localise(self._value(resource, expression))
        text = value if isinstance(value, str) else json.dumps(value)
        return json.dumps(text)[1:-1] if json_escape else text


def _password_policy(policy: dict[str, Any]) -> dict[str, Any]:
    allowed = (
        "MinimumLength",
        "RequireUppercase",
        "RequireLowercase",
        "RequireNumbers",
        "RequireSymbols",
        "TemporaryPasswordValidityDays",
    )
    return {key: policy[key] for key in allowed if key in policy}


def _short_id(resource: Resource, salt: str = "") -> str:
    return hashlib.sha256(f"{resource.stack}/{resource.logical_id}/{salt}".encode()).hexdigest()[:10]


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
