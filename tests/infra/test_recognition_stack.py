"""What matters in the synthesized templates: reliability, least privilege, encryption, retention."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from tests.support.synth import Synthesized, only, resources_of

WORKER = "image_pipeline.handlers.worker.handler"


def _worker(synthesized: Synthesized) -> dict[str, Any]:
    return only(
        synthesized.template("Recognition"), "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == WORKER
    )[1]


def test_uploads_queue_has_a_dlq_with_the_configured_max_receive_count(synthesized: Synthesized) -> None:
    config = synthesized.pipeline.config
    queues = resources_of(synthesized.template("Recognition"), "AWS::SQS::Queue")
    [upload] = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert upload["Properties"]["RedrivePolicy"]["maxReceiveCount"] == config.max_receive_count
    assert upload["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues


def test_visibility_timeout_is_at_least_six_times_the_worker_timeout(synthesized: Synthesized) -> None:
    timeout = _worker(synthesized)["Properties"]["Timeout"]
    for queue in resources_of(synthesized.template("Recognition"), "AWS::SQS::Queue").values():
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_visibility_timeout_is_six_times_the_worker_timeout(synthesized: Synthesized) -> None:
    # Given every SQS event source of the synthesized app (the worker's and the webhook dispatcher's)
    checked = 0
    for template in synthesized.templates.values():
        for mapping in resources_of(template, "AWS::Lambda::EventSourceMapping").values():
            queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
            function_id = mapping["Properties"]["FunctionName"]["Ref"]
            visibility = template["Resources"][queue_id]["Properties"]["VisibilityTimeout"]
            timeout = template["Resources"][function_id]["Properties"]["Timeout"]
            # Then its queue hides a received message for six times the function's timeout, as AWS asks
            assert visibility == 6 * timeout, (queue_id, visibility, timeout)
            checked += 1
    assert checked == 2


def test_concurrency_is_sized_so_that_latency_does_not_cap_the_rate(synthesized: Synthesized) -> None:
    # Given the worker's event source (concurrent invocations) and its images analysed at once per invocation
    template = synthesized.template("Recognition")
    _, mapping = only(template, "AWS::Lambda::EventSourceMapping")
    invocations = mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    variables = _worker(synthesized)["Properties"]["Environment"]["Variables"]
    images = int(variables["IMAGE_CONCURRENCY"])
    # Then enough images are in flight to use each operation's quota at a median latency of 2.5 s (a batch
    # lasts ~9 s then); the rate limiter, not this product, keeps the calls within the quota
    quotas = dict(pair.split("=") for pair in variables["REKOGNITION_QUOTAS"].split(","))
    assert invocations * images >= 9 * max(int(tps) for tps in quotas.values())


def test_event_source_reports_batch_item_failures_and_caps_concurrency(
    recognition: Template, synthesized: Synthesized
) -> None:
    config = synthesized.pipeline.config
    recognition.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": config.max_concurrency},
            "BatchSize": config.batch_size,
        },
    )


def test_worker_is_arm64_traced_with_its_own_log_group(synthesized: Synthesized, recognition: Template) -> None:
    props = _worker(synthesized)["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "python3.14"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    # Powertools is bundled in the code (tests/infra/test_lambda_packaging.py), not a layer
    assert "Layers" not in props
    recognition.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()})


def test_every_object_created_event_under_the_prefix_goes_to_the_topic(recognition: Template) -> None:
    recognition.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "TopicConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                        "TopicArn": Match.any_value(),
                    }
                ]
            }
        },
    )
    recognition.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "sqs", "RawMessageDelivery": True})


def test_topics_are_encrypted_and_queues_too(recognition: Template) -> None:
    for topic in recognition.find_resources("AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]
    for queue in recognition.find_resources("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    recognition.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def _denies_insecure_transport(policy: dict[str, Any]) -> bool:
    return any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy["Statement"]
    )


def test_bucket_queues_and_topics_refuse_plain_http(recognition: Template, data: Template) -> None:
    for kind, key in (("AWS::SQS::QueuePolicy", "PolicyDocument"), ("AWS::SNS::TopicPolicy", "PolicyDocument")):
        policies = recognition.find_resources(kind)
        assert policies
        assert all(_denies_insecure_transport(p["Properties"][key]) for p in policies.values())
    bucket_policies = data.find_resources("AWS::S3::BucketPolicy")
    assert bucket_policies
    assert all(_denies_insecure_transport(p["Properties"]["PolicyDocument"]) for p in bucket_policies.values())


def test_image_bucket_is_private_encrypted_logged_and_aborts_stale_uploads(data: Template) -> None:
    data.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.object_like({"ServerSideEncryptionConfiguration": Match.any_value()}),
            "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})]
                )
            },
        },
    )


def _statements(template: dict[str, Any], role_fragment: str) -> list[dict[str, Any]]:
    statements = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        if role_fragment in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_worker_role_is_least_privilege(synthesized: Synthesized) -> None:
    template = synthesized.template("Recognition")
    statements = _statements(template, "RecognitionWorkerRole")
    by_action = {action: s for s in statements for action in _actions(s)}
    # Rekognition: the five actions named one by one, nothing else of the service
    rekognition = sorted(a for a in by_action if a.startswith("rekognition:"))
    assert rekognition == [
        "rekognition:DetectFaces",
        "rekognition:DetectLabels",
        "rekognition:DetectModerationLabels",
        "rekognition:DetectText",
        "rekognition:RecognizeCelebrities",
    ]
    # S3: removal of exactly an object (version) no image owns, under the upload prefix only; object reads there
    # and under the backfill's library prefix (test_backfill_stack.py: the configured backfill sources); result
    # documents too large for an event written under the results prefix only
    s3_actions = sorted(a for a in by_action if a.startswith("s3:"))
    assert s3_actions == [
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
    ]
    for statement in statements:
        resource = json.dumps(statement["Resource"])
        for action in _actions(statement):
            if action.startswith("s3:Delete"):
                assert resource.endswith('"/uploads/*"]]}'), action
            elif action == "s3:PutObject":
                assert resource.endswith('"/results/*"]]}'), (action, resource)
            elif action.startswith("s3:"):
                assert resource.endswith(('"/uploads/*"]]}', '"/library/*"]]}')), (action, resource)
    # DynamoDB: item reads and writes on the table itself: no Scan, no Query, no index
    table_actions = sorted(a for a in by_action if a.startswith("dynamodb:"))
    assert table_actions == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert "index" not in json.dumps(by_action["dynamodb:PutItem"]["Resource"])
    # No wildcard actions anywhere
    assert not [a for a in by_action if a.endswith(":*") or a == "*"]
    # No AWS managed policy (AWSLambdaBasicExecutionRole would allow logging to any group)
    worker_role_id = _worker(synthesized)["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in template["Resources"][worker_role_id]["Properties"]


def test_worker_environment_names_the_table_topic_and_defaults(synthesized: Synthesized) -> None:
    config = synthesized.pipeline.config
    variables = _worker(synthesized)["Properties"]["Environment"]["Variables"]
    assert variables["DEFAULT_FEATURES"] == ",".join(config.default_features)
    assert variables["IMAGE_CONCURRENCY"] == str(config.image_concurrency)
    assert {"TABLE_NAME", "EVENTS_TOPIC_ARN", "POWERTOOLS_SERVICE_NAME"} <= set(variables)


def test_stateful_resources_are_retained_outside_dev(synthesized: Synthesized, data: Template) -> None:
    expected = "Delete" if synthesized.pipeline.config.name == "dev" else "Retain"
    for kind in ("AWS::S3::Bucket", "AWS::DynamoDB::GlobalTable"):
        for resource in data.find_resources(kind).values():
            assert resource["DeletionPolicy"] == expected
    pitr = synthesized.pipeline.config.point_in_time_recovery
    data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "Replicas": [Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": pitr}})],
        },
    )


def test_table_serves_the_owner_timeline_and_label_search(data: Template) -> None:
    data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    Match.object_like({"IndexName": "ByOwner"}),
                    Match.object_like({"IndexName": "ByOwnerLabel"}),
                ]
            ),
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
        },
    )


def test_stateful_stack_depends_on_nothing_else(synthesized: Synthesized) -> None:
    data_stack = synthesized.pipeline.data
    assert data_stack.dependencies == []
    assert data_stack in synthesized.pipeline.recognition.dependencies


def test_alarms_reach_an_encrypted_topic(synthesized: Synthesized) -> None:
    template = synthesized.template("Recognition")
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    composites = resources_of(template, "AWS::CloudWatch::CompositeAlarm")
    # An alarm that only feeds a composite alarm notifies through the composite
    rules = json.dumps([composite["Properties"]["AlarmRule"] for composite in composites.values()])
    notifying = {lid: alarm for lid, alarm in alarms.items() if lid not in rules} | composites
    assert len(notifying) >= 3
    keys = resources_of(template, "AWS::KMS::Key")
    for alarm in notifying.values():
        # Every alarm notifies a topic of this stack...
        actions = alarm["Properties"]["AlarmActions"]
        assert actions
        for action in actions:
            topic = template["Resources"][action["Ref"]]
            assert topic["Type"] == "AWS::SNS::Topic"
            # ...encrypted with a customer managed key of this stack
            key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"]
            assert key_id[1] == "Arn"
            assert key_id[0] in keys


def test_an_alarm_email_from_context_subscribes_to_alarms() -> None:
    from tests.support.synth import synthesize

    template = Template.from_json(synthesize("prod", alarmEmail="ops@example.org").template("Recognition"))
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.org"})


# The Rekognition quota: per-operation quotas reach the worker, the worker may put a message back on its own
# queue (and nowhere else), and alarms watch throttling and a quota-bound backlog.


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
