"""Service-to-service permissions the pipeline relies on, which the local mode cannot check.

The local mode authorises each function's calls against its role (local/iam), but not what one AWS service
does on another's behalf: S3 publishing to an encrypted topic, SNS sending to a queue. Those are granted
by resource policies (topic, queue, key policies), checked here on every environment's templates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.support.synth import Synthesized, resources_of

ENCRYPTED_TOPIC_USE = {"kms:Decrypt", "kms:GenerateDataKey*"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return _listed(document["Statement"])


def _service_allows(statement: dict[str, Any], service: str, action: str) -> bool:
    principal = statement.get("Principal", {})
    services = _listed(principal.get("Service", [])) if isinstance(principal, dict) else []
    return statement["Effect"] == "Allow" and service in services and action in _listed(statement["Action"])


def _source_arn(statement: dict[str, Any]) -> Any:
    conditions = statement.get("Condition", {})
    for operator in ("ArnEquals", "ArnLike"):
        if "aws:SourceArn" in conditions.get(operator, {}):
            return conditions[operator]["aws:SourceArn"]
    return None


def _by_template(synthesized: Synthesized, resource_type: str) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    for template in synthesized.templates.values():
        for logical_id, resource in resources_of(template, resource_type).items():
            yield template, logical_id, resource


def _topic_policies(template: dict[str, Any], topic_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in policy["Properties"]["Topics"]
        for statement in _statements(policy["Properties"]["PolicyDocument"])
    ]


def _key_policy(template: dict[str, Any], topic_id: str) -> list[dict[str, Any]]:
    key = template["Resources"][topic_id]["Properties"]["KmsMasterKeyId"]
    key_id = key["Fn::GetAtt"][0]
    return _statements(template["Resources"][key_id]["Properties"]["KeyPolicy"])


def test_s3_may_publish_its_notifications_to_the_encrypted_topic_from_the_image_bucket_only(
    synthesized: Synthesized,
) -> None:
    checked = 0
    for template, _, notification in _by_template(synthesized, "Custom::S3BucketNotifications"):
        bucket = json.dumps(notification["Properties"]["BucketName"])
        for configuration in notification["Properties"]["NotificationConfiguration"]["TopicConfigurations"]:
            topic_id = configuration["TopicArn"]["Ref"]
            # The topic policy lets S3 publish, for this bucket only (aws:SourceArn)
            grants = [
                s for s in _topic_policies(template, topic_id) if _service_allows(s, "s3.amazonaws.com", "sns:Publish")
            ]
            assert grants, f"{topic_id}: no topic policy statement lets S3 publish"
            assert all(json.dumps(_source_arn(s)) in bucket for s in grants), grants
            # The topic's key lets S3 encrypt what it publishes, for this account only
            key_grants = [
                s
                for s in _key_policy(template, topic_id)
                if s["Effect"] == "Allow" and "s3.amazonaws.com" in _listed(s.get("Principal", {}).get("Service", []))
            ]
            assert key_grants, f"{topic_id}: its key does not let S3 use it"
            assert {a for s in key_grants for a in _listed(s["Action"])} >= ENCRYPTED_TOPIC_USE
            assert all("aws:SourceAccount" in s["Condition"]["StringEquals"] for s in key_grants)
            checked += 1
    assert checked == 1


def test_sns_may_send_to_each_subscribed_queue_from_its_topic_only(synthesized: Synthesized) -> None:
    checked = 0
    for template, _, subscription in _by_template(synthesized, "AWS::SNS::Subscription"):
        if subscription["Properties"]["Protocol"] != "sqs":
            continue
        queue_id = subscription["Properties"]["Endpoint"]["Fn::GetAtt"][0]
        topic = subscription["Properties"]["TopicArn"]
        statements = [
            statement
            for policy in resources_of(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": queue_id} in policy["Properties"]["Queues"]
            for statement in _statements(policy["Properties"]["PolicyDocument"])
        ]
        grants = [s for s in statements if _service_allows(s, "sns.amazonaws.com", "sqs:SendMessage")]
        assert grants, f"{queue_id}: no queue policy lets SNS send"
        assert all(_source_arn(s) == topic for s in grants), grants
        # SNS needs no key grant to deliver: the queue is encrypted with an SQS-owned key
        assert template["Resources"][queue_id]["Properties"].get("SqsManagedSseEnabled") is True
        checked += 1
    assert checked == 2  # uploads (S3 -> SNS -> SQS) and the webhook dispatch queue


def test_every_role_that_publishes_to_an_encrypted_topic_may_use_its_key(synthesized: Synthesized) -> None:
    checked = 0
    for template, _, policy in _by_template(synthesized, "AWS::IAM::Policy"):
        statements = _statements(policy["Properties"]["PolicyDocument"])
        for statement in statements:
            if "sns:Publish" not in _listed(statement["Action"]):
                continue
            for topic in _listed(statement["Resource"]):
                topic_id = topic.get("Ref") if isinstance(topic, dict) else None
                if topic_id is None or "KmsMasterKeyId" not in template["Resources"][topic_id]["Properties"]:
                    continue
                key = template["Resources"][topic_id]["Properties"]["KmsMasterKeyId"]
                granted = {
                    action
                    for s in statements
                    if s["Effect"] == "Allow" and key in _listed(s["Resource"])
                    for action in _listed(s["Action"])
                }
                assert granted >= ENCRYPTED_TOPIC_USE, (topic_id, granted)
                checked += 1
    assert checked >= 1  # the worker publishes "image analysed" events
