"""make backfill's state machine: a Distributed Map over S3 ListObjectsV2 of the run's bucket and prefix, batches
handed to the backfill function; least privilege for the map, the function and the worker's reads."""

from __future__ import annotations

import json
from typing import Any

from stacks.config import LIBRARY_PREFIX
from tests.support.synth import Synthesized, only, resources_of

BACKFILL = "image_pipeline.handlers.backfill.handler"
WORKER = "image_pipeline.handlers.worker.handler"


def _placeholder(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Fn::GetAtt" in part:
        return f"<{part['Fn::GetAtt'][0]}.{part['Fn::GetAtt'][1]}>"
    if "Ref" in part:
        return f"<{part['Ref']}>"
    return "<token>"


def _definition(synthesized: Synthesized) -> dict[str, Any]:
    _, machine = only(synthesized.template("Recognition"), "AWS::StepFunctions::StateMachine")
    body = machine["Properties"]["DefinitionString"]
    text = body if isinstance(body, str) else "".join(_placeholder(part) for part in body["Fn::Join"][1])
    return dict(json.loads(text))


def _function(synthesized: Synthesized, handler: str) -> tuple[str, dict[str, Any]]:
    return only(
        synthesized.template("Recognition"),
        "AWS::Lambda::Function",
        lambda r: r["Properties"].get("Handler") == handler,
    )


def _statements_of_role(synthesized: Synthesized, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of(synthesized.template("Recognition"), "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_the_map_lists_the_runs_bucket_and_prefix_in_distributed_mode(synthesized: Synthesized) -> None:
    definition = _definition(synthesized)
    state = definition["States"][definition["StartAt"]]
    assert (state["Type"], state["ItemProcessor"]["ProcessorConfig"]["Mode"]) == ("Map", "DISTRIBUTED")
    reader = state["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:listObjectsV2")
    assert reader["Parameters"] == {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"}
    # Each batch carries the run's id, bucket, owner and features, and the listing's key, ETag and size.
    assert state["ItemBatcher"]["BatchInput"] == {
        f"{name}.$": f"$.{name}" for name in ("runId", "bucket", "owner", "features")
    }
    assert state["ItemSelector"] == {f"{n}.$": f"$$.Map.Item.Value.{n}" for n in ("Key", "Etag", "Size")}
    config = synthesized.pipeline.config.backfill
    assert state["ItemBatcher"]["MaxItemsPerBatch"] == config.items_per_batch
    assert state["MaxConcurrency"] == config.max_concurrency
    # The children's outputs are dropped: a listing of millions of objects cannot outgrow the state's 256 KiB.
    assert state["ResultPath"] is None


def test_each_batch_goes_to_the_backfill_function_with_retries(synthesized: Synthesized) -> None:
    function_id, _ = _function(synthesized, BACKFILL)
    definition = _definition(synthesized)
    processor = definition["States"][definition["StartAt"]]["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    assert task["Resource"] == f"<{function_id}.Arn>"
    assert any(retry["ErrorEquals"] == ["States.TaskFailed"] for retry in task["Retry"])
    # While the upload queue holds enough work the batch waits, for as long as it takes: that retrier comes before
    # States.TaskFailed's, which would match it too (the first matching retrier applies)
    errors = [retry["ErrorEquals"] for retry in task["Retry"]]
    assert errors.index(["BacklogFull"]) < errors.index(["States.TaskFailed"])
    [waiting] = [retry for retry in task["Retry"] if retry["ErrorEquals"] == ["BacklogFull"]]
    config = synthesized.pipeline.config.backfill
    assert (waiting["IntervalSeconds"], waiting["BackoffRate"]) == (config.backlog_retry_seconds, 1)
    assert waiting["MaxAttempts"] == 99_999_999
    assert processor["States"][task["Next"]] == {"Type": "Pass", "Parameters": {}, "End": True}


def test_the_map_may_list_only_the_allowed_sources(synthesized: Synthesized) -> None:
    _, machine = only(synthesized.template("Recognition"), "AWS::StepFunctions::StateMachine")
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    listing = [s for s in _statements_of_role(synthesized, role_id) if "s3:ListBucket" in _actions(s)]
    sources = 1 + len(synthesized.pipeline.config.backfill.source_buckets)
    assert len(listing) == sources
    for statement in listing:
        assert statement["Resource"] != "*"
        assert "s3:prefix" in statement["Condition"]["StringLike"]
    assert listing[0]["Condition"]["StringLike"]["s3:prefix"] == [f"{LIBRARY_PREFIX}*"]
    assert not any(a.startswith("s3:") and a != "s3:ListBucket" for s in listing for a in _actions(s))


def test_the_function_reads_and_writes_the_table_and_sends_to_the_upload_queue_only(synthesized: Synthesized) -> None:
    _, function = _function(synthesized, BACKFILL)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = {a for s in _statements_of_role(synthesized, role_id) for a in _actions(s)}
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_the_worker_reads_backfilled_objects_under_the_library_prefix_only(synthesized: Synthesized) -> None:
    _, worker = _function(synthesized, WORKER)
    role_id = worker["Properties"]["Role"]["Fn::GetAtt"][0]
    reads = [s for s in _statements_of_role(synthesized, role_id) if "s3:GetObject" in _actions(s)]
    resources = [json.dumps(s["Resource"]) for s in reads]
    assert any(f"/{LIBRARY_PREFIX}*" in resource for resource in resources)
    assert all("/uploads/*" in resource or f"/{LIBRARY_PREFIX}*" in resource for resource in resources)


def test_a_failed_run_raises_an_alarm(synthesized: Synthesized) -> None:
    alarms = resources_of(synthesized.template("Recognition"), "AWS::CloudWatch::Alarm").values()
    [failed] = [a for a in alarms if a["Properties"].get("MetricName") == "ExecutionsFailed"]
    assert failed["Properties"]["Namespace"] == "AWS/States"
    assert failed["Properties"]["AlarmActions"]
