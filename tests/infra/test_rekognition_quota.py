"""The Rekognition quota in the templates: per-operation quotas reach the worker, the worker may put a
message back on its own queue (and nowhere else), and alarms watch throttling and a quota-bound backlog."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from tests.support.synth import Synthesized
from tests.support.template import only, resources_of

WORKER = "image_pipeline.handlers.worker.handler"


def _worker(synthesized: Synthesized) -> dict[str, Any]:
    return only(
        synthesized.template("Recognition"), "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == WORKER
    )[1]


def test_the_worker_gets_every_operations_quota_and_its_token_wait(synthesized: Synthesized) -> None:
    config = synthesized.pipeline.config
    variables = _worker(synthesized)["Properties"]["Environment"]["Variables"]
    quotas = dict(pair.split("=") for pair in variables["REKOGNITION_QUOTAS"].split(","))
    assert {name: int(tps) for name, tps in quotas.items()} == config.rekognition_quotas.per_feature()
    assert variables["REKOGNITION_TOKEN_WAIT_SECONDS"] == str(config.rekognition_token_wait_seconds)
    assert variables["REKOGNITION_MAX_ATTEMPTS"] == str(config.rekognition_max_attempts)


def test_the_worker_may_send_to_its_own_upload_queue_only(synthesized: Synthesized) -> None:
    template = synthesized.template("Recognition")
    queues = resources_of(template, "AWS::SQS::Queue")
    [upload_id] = [lid for lid, queue in queues.items() if "RedrivePolicy" in queue["Properties"]]
    variables = _worker(synthesized)["Properties"]["Environment"]["Variables"]
    assert variables["QUEUE_URL"] == {"Ref": upload_id}
    sends = [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in json.dumps(statement["Action"])
    ]
    assert sends
    for statement in sends:
        assert statement["Resource"] == {"Fn::GetAtt": [upload_id, "Arn"]}


def test_the_ledger_items_expire_through_the_tables_ttl(data: Template) -> None:
    data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable", {"TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True}}
    )


def test_throttling_and_a_quota_bound_backlog_raise_alarms(recognition: Template) -> None:
    alarms = recognition.find_resources("AWS::CloudWatch::Alarm")
    text = json.dumps(alarms)
    for name in ("RekognitionCalls", "RekognitionThrottles"):
        assert f'"MetricName": "{name}"' in text
    throttling = [a for a in alarms.values() if "throttled" in a["Properties"]["AlarmDescription"]]
    assert len(throttling) == 1
    assert throttling[0]["Properties"]["AlarmActions"]
    [composite] = recognition.find_resources("AWS::CloudWatch::CompositeAlarm").values()
    assert "quota" in composite["Properties"]["AlarmDescription"]
    assert composite["Properties"]["AlarmActions"]
