"""What every provisioner shares: the settings of a run, what was created so far, and physical names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.cfn.assembly import Assembly, AssemblyError, Resource
from local.cfn.resolver import PhysicalIds, Resolver

ACCOUNT = "123456789012"
SERVICES = ("s3", "sqs", "sns", "dynamodb", "cognito-idp")


class UnsupportedResource(AssemblyError):
    pass


@dataclass(frozen=True)
class ProvisionSettings:
    region: str = "us-east-1"
    api_base_url: str = "http://127.0.0.1:8000"  # where the local gateway serves the REST APIs
    web_host: str = "127.0.0.1:8080"  # what a CloudFront distribution's DomainName becomes
    work_dir: Path = Path(".local")  # inline function code is written here, zipped code extracted
    aws_endpoint: str = "https://cognito-idp.us-east-1.amazonaws.com"  # the emulator: Cognito's URL is rewritten to it


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


class Localiser:
    """Rewrites AWS URLs in values into their local counterparts (https://<api>.execute-api… -> the gateway)."""

    def __init__(self, settings: ProvisionSettings) -> None:
        self._rewrites: list[tuple[re.Pattern[str], str]] = [
            (re.compile(r"https://(127\.0\.0\.1|localhost)(?=[:/]|$)"), r"http://\1"),
            # The Cognito service endpoint (not a pool's issuer URL, which tokens carry as it is).
            (
                re.compile(rf"https://cognito-idp\.{re.escape(settings.region)}\.amazonaws\.com(/?)(?=$|\")"),
                settings.aws_endpoint + r"\1",
            ),
        ]

    def rewrite(self, url_prefix: str, replacement: str) -> None:
        self._rewrites.insert(0, (re.compile(re.escape(url_prefix)), replacement))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for pattern, replacement in self._rewrites:
                value = pattern.sub(replacement, value)
            return value
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        return value


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


@dataclass
class Context:
    """What a provisioner reads and writes while it creates one resource."""

    settings: ProvisionSettings
    clients: dict[str, Any]
    provisioned: Provisioned
    localise: Localiser
    queue_urls: dict[str, str] = field(default_factory=dict)  # arn -> url

    @property
    def assembly(self) -> Assembly:
        return self.provisioned.assembly

    @property
    def physical(self) -> PhysicalIds:
        return self.provisioned.physical

    @property
    def region(self) -> str:
        return self.settings.region

    def value(self, resource: Resource, expression: Any) -> Any:
        return self.provisioned.resolver(resource.stack, expression)

    def text(self, resource: Resource, expression: Any) -> str:
        return self.provisioned.resolver.text(resource.stack, expression)

    def name(self, resource: Resource, property_name: str, limit: int, *, lower: bool = False, suffix: str = "") -> str:
        """The name the template gives (``property_name``), else one made as CloudFormation makes it."""
        if property_name in resource.properties:
            return self.text(resource, resource.properties[property_name])
        return physical_name(resource, limit, lower=lower, suffix=suffix)


@dataclass(frozen=True)
class ResourceProvisioner:
    """Creates one CloudFormation resource type locally; ``description`` says how (docs/local-mode.md)."""

    description: str
    create: Callable[[Context, Resource], None]


def aws_clients(endpoint: str | None, region: str) -> dict[str, Any]:
    """Clients of the services provisioners call; ``endpoint`` None: boto3's own (e.g. inside ``mock_aws``)."""
    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    return {name: session.client(name, endpoint_url=endpoint, config=config) for name in SERVICES}


def physical_name(resource: Resource, limit: int, *, lower: bool = False, suffix: str = "") -> str:
    """Like CloudFormation's generated names: stack and logical id, shortened, with a stable hash."""
    digest = hashlib.sha256(f"{resource.stack}/{resource.logical_id}".encode()).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9-]", "-", f"{resource.stack}-{resource.logical_id}")
    name = f"{base[: limit - len(digest) - len(suffix) - 1]}-{digest}{suffix}"
    return name.lower() if lower else name


def short_id(resource: Resource, salt: str = "") -> str:
    return hashlib.sha256(f"{resource.stack}/{resource.logical_id}/{salt}".encode()).hexdigest()[:10]
