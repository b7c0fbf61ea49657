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


def test_no_environment_can_exceed_its_rekognition_quota(synthesized: Synthesized) -> None:
    # Given the worker's event source (concurrent invocations) and its images analysed at once per invocation
    template = synthesized.template("Recognition")
    _, mapping = only(template, "AWS::Lambda::EventSourceMapping")
    invocations = mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    images = int(_worker(synthesized)["Properties"]["Environment"]["Variables"]["IMAGE_CONCURRENCY"])
    # Then the calls of one Rekognition operation in flight at once stay within the environment's quota
    assert invocations * images <= synthesized.pipeline.config.rekognition_tps_quota


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
    # The Powertools layer ARN comes from its public SSM parameter
    assert len(props["Layers"]) == 1
    assert "Ref" in props["Layers"][0]
    recognition.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()})


def test_powertools_layer_is_pinned_to_the_library_version(synthesized: Synthesized) -> None:
    parameters = synthesized.template("Recognition")["Parameters"]
    defaults = [p.get("Default", "") for p in parameters.values()]
    assert "/aws/service/powertools/python/arm64/python3.14/3.37.0" in defaults


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
    # S3: object reads, and removal of exactly an object (version) no image owns, under the upload prefix only
    s3_actions = sorted(a for a in by_action if a.startswith("s3:"))
    assert s3_actions == ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectVersion"]
    for action in s3_actions:
        assert json.dumps(by_action[action]["Resource"]).endswith('"/uploads/*"]]}'), action
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
    assert len(alarms) >= 3
    keys = resources_of(template, "AWS::KMS::Key")
    for alarm in alarms.values():
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
