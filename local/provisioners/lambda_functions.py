"""Lambda: functions and SQS event source mappings are not created in moto (it would run them in Docker);
they are recorded here for local.functions, which runs them."""

from __future__ import annotations

import secrets
import zipfile
from pathlib import Path
from typing import Any

from local.cfn.assembly import Resource
from local.provisioners.base import (
    ACCOUNT,
    Context,
    FunctionDefinition,
    MappingDefinition,
    ResourceProvisioner,
    UnsupportedResource,
)


def create_function(context: Context, resource: Resource) -> None:
    props = resource.properties
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith("python"):
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: runtime {runtime or 'image'}")
    name = context.name(resource, "FunctionName", 64)
    arn = f"arn:aws:lambda:{context.region}:{ACCOUNT}:function:{name}"
    # Set before resolving the environment: a function may name itself.
    context.physical.set(resource.key, name, Arn=arn)
    variables = props.get("Environment", {}).get("Variables", {})
    environment = {key: str(context.localise(context.value(resource, value))) for key, value in variables.items()}
    reserved = props.get("ReservedConcurrentExecutions")
    context.provisioned.functions.append(
        FunctionDefinition(
            resource=resource,
            function_name=name,
            arn=arn,
            handler=str(props["Handler"]),
            code_dir=_code_dir(context, resource, props["Code"]),
            environment=environment,
            timeout_seconds=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            reserved_concurrency=int(reserved) if reserved is not None else None,
        )
    )


def _code_dir(context: Context, resource: Resource, code: dict[str, Any]) -> Path:
    work_dir = context.settings.work_dir
    if "ZipFile" in code:
        target = work_dir / "code" / resource.logical_id
        target.mkdir(parents=True, exist_ok=True)
        (target / "index.py").write_text(context.text(resource, code["ZipFile"]))
        return target
    if "S3Key" not in code:
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: code from {sorted(code)}")
    source = context.assembly.asset(resource.stack, context.text(resource, code["S3Key"]))
    if source.is_dir():
        return source
    target = work_dir / "code" / source.stem
    if not target.exists():
        with zipfile.ZipFile(source) as archive:
            archive.extractall(target)
    return target


def create_event_source_mapping(context: Context, resource: Resource) -> None:
    props = resource.properties
    source = context.text(resource, props["EventSourceArn"])
    if ":sqs:" not in source:
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: event source {source}")
    if props.get("FilterCriteria"):
        # Lambda deletes the messages no filter matches without invoking; the poller would hand them over.
        raise UnsupportedResource(f"{resource.stack}/{resource.logical_id}: FilterCriteria")
    function = context.text(resource, props["FunctionName"])
    if not function.startswith("arn:"):
        function = f"arn:aws:lambda:{context.region}:{ACCOUNT}:function:{function}"
    scaling = props.get("ScalingConfig", {})
    context.provisioned.mappings.append(
        MappingDefinition(
            resource=resource,
            function_arn=function,
            queue_url=context.queue_urls[source],
            queue_arn=source,
            batch_size=int(props.get("BatchSize", 10)),
            batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            max_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
            report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            enabled=bool(props.get("Enabled", True)),
        )
    )
    context.physical.set(resource.key, secrets.token_hex(16))


PROVISIONERS = {
    "AWS::Lambda::Function": ResourceProvisioner(
        "a local function: the handler from its code asset in child processes", create_function
    ),
    "AWS::Lambda::EventSourceMapping": ResourceProvisioner(
        "an SQS poller (batch size, window, max concurrency, partial batch responses)", create_event_source_mapping
    ),
}
