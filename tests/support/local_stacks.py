"""The handler tests' AWS resources, created in moto from the synthesized templates by the local mode's own
provisioners and resolver (local/provisioners, local/cfn): tests and the local mode cannot drift apart.

Only what the handlers under test need is created (their functions' references, their event source
mappings and the subscriptions and bucket notifications that feed those), which keeps a test's set-up short.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.dispatch import DeliveryQueue, DispatchSettings
from image_pipeline.webhooks.domain.subscriptions import TEST_SENDS_PER_MINUTE, WebhookService
from image_pipeline.webhooks.domain.targets import TargetPolicy
from local.cfn.assembly import Assembly, Resource, ResourceKey
from local.cfn.ordering import with_dependencies
from local.functions.environment import LOCAL_SETTINGS
from local.provisioners import (
    SERVICES,
    FunctionDefinition,
    MappingDefinition,
    Provisioned,
    ProvisionSettings,
    provision,
)
from tests.support.synth import Synthesized

REGION = "us-east-1"
WEB_DOMAIN = "d111111abcdef8.cloudfront.net"  # the web page's CloudFront domain, which the API allows as origin


@dataclass
class LocalStacks:
    provisioned: Provisioned
    clients: dict[str, Any]

    @property
    def s3(self) -> Any:
        return self.clients["s3"]

    @property
    def sqs(self) -> Any:
        return self.clients["sqs"]

    @property
    def sns(self) -> Any:
        return self.clients["sns"]

    @property
    def dynamodb(self) -> Any:
        return self.clients["dynamodb"]

    def function(self, handler: str) -> FunctionDefinition:
        [found] = [function for function in self.provisioned.functions if function.handler == handler]
        return found

    def environment(self, handler: str) -> dict[str, str]:
        """What the local mode gives that function: its template's variables over the local-only settings."""
        return {**LOCAL_SETTINGS, **self.function(handler).environment}

    def mapping(self, handler: str) -> MappingDefinition:
        arn = self.function(handler).arn
        [found] = [mapping for mapping in self.provisioned.mappings if mapping.function_arn == arn]
        return found

    def property_of(self, resource_type: str, name: str) -> Any:
        """A property, resolved, of the one resource of that type that was created."""
        [resource] = [
            r for r in self.provisioned.assembly.resources(resource_type) if self.provisioned.physical.has(r.key)
        ]
        return self.provisioned.value(resource.stack, resource.properties[name])

    def webhook_service(
        self, dispatcher_handler: str, test_sends_per_minute: int = TEST_SENDS_PER_MINUTE
    ) -> WebhookService:
        """What the API's webhook routes use, on the tables and queue the dispatcher names, with the local
        mode's target policy (plain HTTP to loopback)."""
        table = WebhookStore(self.dynamodb, self.environment(dispatcher_handler)["WEBHOOKS_TABLE_NAME"])
        queue = SqsJobQueue(self.sqs, self.mapping(dispatcher_handler).queue_url)
        return WebhookService(
            repository=table,
            flows=table,
            deliveries=DeliveryQueue(repository=table, queue=queue, settings=DispatchSettings()),
            policy=TargetPolicy.of(allow_http=True, allowed_networks=LOCAL_SETTINGS["WEBHOOK_ALLOWED_NETWORKS"]),
            test_sends_per_minute=test_sends_per_minute,
        )

    def redrive(self, queue_url: str) -> tuple[str, int]:
        """(dead-letter queue URL, maxReceiveCount) of a queue, as created from its RedrivePolicy."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
        policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
        name = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
        return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"]), int(policy["maxReceiveCount"])


@cache
def _session() -> boto3.Session:
    """One session for every test: its service models and endpoint rules are loaded once (~1 s each time
    otherwise; ``mock_aws`` drops boto3's default session). moto intercepts any session's clients."""
    return boto3.Session(region_name=REGION)


@cache
def _assembly(outdir: Path) -> Assembly:
    return Assembly.load(outdir)


def needed_by(assembly: Assembly, handlers: Iterable[str]) -> set[ResourceKey]:
    """The functions with these handlers, what they refer to, their event source mappings, the SNS subscriptions
    that deliver to those resources and the bucket notifications whose destinations are all among them
    (with their buckets)."""
    wanted_handlers = set(handlers)
    functions = {
        r.key for r in assembly.resources("AWS::Lambda::Function") if r.properties.get("Handler") in wanted_handlers
    }
    mappings = {
        r.key
        for r in assembly.resources("AWS::Lambda::EventSourceMapping")
        if assembly.references(r.stack, r.properties) & functions
    }
    wanted = with_dependencies(assembly, functions | mappings)

    def refers(resource: Resource, value: Any) -> set[ResourceKey]:
        return assembly.references(resource.stack, value)

    subscriptions = {
        r.key for r in assembly.resources("AWS::SNS::Subscription") if refers(r, r.properties["Endpoint"]) & wanted
    }
    wanted = with_dependencies(assembly, wanted | subscriptions)
    notifications = set()
    for resource in assembly.resources("Custom::S3BucketNotifications"):
        destinations = refers(resource, resource.properties.get("NotificationConfiguration", {}))
        if destinations and destinations <= wanted:
            notifications.add(resource.key)
    return with_dependencies(assembly, wanted | notifications)


def provision_for(synth: Synthesized, *handlers: str, endpoint: str | None = None) -> LocalStacks:
    """Creates what the functions with ``handlers`` need, in moto (``mock_aws``, or the server at ``endpoint``)."""
    assembly = _assembly(synth.outdir)
    clients = {name: _session().client(name, endpoint_url=endpoint) for name in SERVICES}
    settings = ProvisionSettings(region=REGION, web_host=WEB_DOMAIN, work_dir=synth.outdir / "local")
    provisioned = provision(assembly, clients, settings, only=needed_by(assembly, handlers))
    return LocalStacks(provisioned, clients)
