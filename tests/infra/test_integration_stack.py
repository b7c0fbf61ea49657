"""The integration stack: webhook dispatch queue with its DLQ, least privilege, encryption, the fixed endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks import outputs
from stacks.constructs.webhook_dispatch import DISPATCHER_TABLE_ACTIONS
from stacks.integration_stack import API_TABLE_ACTIONS
from tests.support.synth import Synthesized, only, resources_of, synthesize

DISPATCHER = "image_pipeline.handlers.dispatcher.handler"
API = "image_pipeline.handlers.api.handler"
ENDPOINT = "https://hooks.example.org/image-pipeline"


@pytest.fixture(scope="session")
def integration(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template("Integration")


@pytest.fixture(scope="session")
def with_endpoint() -> Synthesized:
    return synthesize("prod", webhookEndpoint=ENDPOINT)


@pytest.fixture(scope="session")
def upgrading() -> Synthesized:
    """The first deploy of an upgrade from the first release (its owner index still projecting everything)."""
    return synthesize("prod", webhooksLegacyOwnerIndex="true")


def _function(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    return only(template, "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == handler)


def _statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def _role_id(function: dict[str, Any]) -> str:
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def test_dispatch_queue_has_a_dlq_and_a_visibility_of_six_function_timeouts(
    integration: dict[str, Any], synthesized: Synthesized
) -> None:
    webhooks = synthesized.pipeline.config.webhooks
    queues = resources_of(integration, "AWS::SQS::Queue")
    [dispatch] = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    redrive = dispatch["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == webhooks.max_receive_count
    assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues
    timeout = _function(integration, DISPATCHER)[1]["Properties"]["Timeout"]
    assert timeout >= 30  # one 15 s attempt per record, a batch's records side by side
    for queue in queues.values():
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_the_queue_receives_every_image_event_raw(integration: dict[str, Any]) -> None:
    _, subscription = only(integration, "AWS::SNS::Subscription", lambda r: r["Properties"]["Protocol"] == "sqs")
    assert subscription["Properties"]["RawMessageDelivery"] is True
    assert "FilterPolicy" not in subscription["Properties"]
    assert "Fn::ImportValue" in json.dumps(subscription["Properties"]["TopicArn"])  # the Recognition stack's topic


def test_the_dispatcher_reports_batch_item_failures(integration: dict[str, Any], synthesized: Synthesized) -> None:
    webhooks = synthesized.pipeline.config.webhooks
    Template.from_json(integration).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": webhooks.batch_size,
            "ScalingConfig": {"MaximumConcurrency": webhooks.max_concurrency},
        },
    )
    variables = _function(integration, DISPATCHER)[1]["Properties"]["Environment"]["Variables"]
    assert variables["WEBHOOK_MAX_ATTEMPTS"] == str(webhooks.max_attempts)
    assert {"WEBHOOKS_TABLE_NAME", "DISPATCH_QUEUE_URL", "WEBHOOK_DLQ_URL"} <= set(variables)
    # HTTPS only and no exception for any network: those settings exist for the local mode alone
    assert "WEBHOOK_ALLOW_HTTP" not in variables
    assert "WEBHOOK_ALLOWED_NETWORKS" not in variables
    # Fairness from the config; the attempt's time limit is what the leases and the function timeout assume
    assert variables["WEBHOOK_OWNER_SHARE"] == str(webhooks.owner_share)
    assert int(variables["WEBHOOK_OWNER_SHARE"]) < webhooks.max_concurrency
    assert variables["WEBHOOK_ENDPOINT_CONCURRENCY"] == str(webhooks.endpoint_concurrency)
    assert variables["WEBHOOK_BREAKER_FAILURES"] == str(webhooks.breaker_failures)
    assert variables["WEBHOOK_TIMEOUT_SECONDS"] == str(webhooks.attempt_timeout_seconds)
    assert variables["WEBHOOK_ALLOWED_PORTS"] == "443"


def test_the_dispatcher_role_is_least_privilege(integration: dict[str, Any]) -> None:
    function_id, function = _function(integration, DISPATCHER)
    statements = _statements(integration, _role_id(function))
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        for action in _actions(statement):
            by_action.setdefault(action, []).append(statement)
    # DynamoDB: item reads/writes and queries on the webhooks table and its owner index; no Scan, no delete
    assert sorted(a for a in by_action if a.startswith("dynamodb:")) == sorted(DISPATCHER_TABLE_ACTIONS)
    resources = json.dumps([s["Resource"] for s in by_action["dynamodb:Query"]])
    assert "Webhooks" in resources
    assert "/index/ByOwner" in resources
    # SQS: send (the retries, the dead letters) and what the event source needs; nothing else
    sqs_actions = {a for a in by_action if a.startswith("sqs:")}
    assert sqs_actions <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
    }
    assert not [a for a in by_action if a.startswith("secretsmanager:")]  # no fixed endpoint here
    assert not [a for a in by_action if a.endswith(":*") or a == "*"]
    assert "ManagedPolicyArns" not in integration["Resources"][_role_id(function)]["Properties"]
    assert function_id


def test_the_dispatcher_may_read_result_documents_only_to_sign_links_to_them(integration: dict[str, Any]) -> None:
    # Given the dispatcher's role
    _, function = _function(integration, DISPATCHER)
    statements = _statements(integration, _role_id(function))
    s3_statements = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    # Then its only S3 grant is a read of objects under the results prefix (a presigned link is only as good
    # as its signer's permission): no write, no delete, no listing, not the upload prefix
    assert len(s3_statements) == 1
    (statement,) = s3_statements
    assert statement["Effect"] == "Allow"
    assert sorted(_actions(statement)) == ["s3:GetObject", "s3:GetObjectVersion"]
    resource = statement["Resource"]
    assert not isinstance(resource, list) or len(resource) == 1
    text = json.dumps(resource)
    assert text.endswith('"/results/*"]]}'), text
    assert "ImageBucketArn" in text  # the data stack's bucket, through its export
    # And it is told the bucket and the link's lifetime from the config
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["WEBHOOK_RESULTS_URL_SECONDS"] == "3600"
    assert "ImageBucketName" in json.dumps(variables["RESULTS_BUCKET_NAME"])


def test_result_documents_expire_when_their_deliveries_can_no_longer_be_resent(synthesized: Synthesized) -> None:
    # Given the image bucket in the data stack
    [bucket] = [
        b
        for b in resources_of(synthesized.template("Data"), "AWS::S3::Bucket").values()
        if "CorsConfiguration" in b["Properties"]
    ]
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    # Then documents under the results prefix expire after the delivery records' retention
    rule = rules["ExpireResultDocuments"]
    assert (rule["Prefix"], rule["Status"]) == ("results/", "Enabled")
    assert rule["ExpirationInDays"] == synthesized.pipeline.config.webhooks.delivery_retention_days


def test_the_api_function_gets_the_webhook_settings_and_grants(synthesized: Synthesized) -> None:
    api = synthesized.template("Api")
    _, function = _function(api, API)
    variables = function["Properties"]["Environment"]["Variables"]
    assert {"WEBHOOKS_TABLE_NAME", "WEBHOOKS_OWNER_INDEX", "DISPATCH_QUEUE_URL"} <= set(variables)
    assert (variables["WEBHOOK_ALLOWED_PORTS"], variables["WEBHOOK_TEST_SENDS_PER_MINUTE"]) == ("443", "5")
    statements = _statements(api, _role_id(function))
    webhook_table = [s for s in statements if "WebhooksTable" in json.dumps(s["Resource"])]
    assert sorted(a for s in webhook_table for a in _actions(s)) == sorted(API_TABLE_ACTIONS)
    assert "/index/ByOwner" in json.dumps([s["Resource"] for s in webhook_table])
    dispatch = [s for s in statements if "WebhooksDispatch" in json.dumps(s["Resource"])]
    assert dispatch
    assert {a for s in dispatch for a in _actions(s)} <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


def test_webhooks_table_is_kms_encrypted_with_ttl_and_an_owner_index(synthesized: Synthesized) -> None:
    data = synthesized.template("Data")
    _, table = only(
        data,
        "AWS::DynamoDB::GlobalTable",
        lambda r: (
            any(i["IndexName"] == "ByOwnerListing" for i in r["Properties"]["GlobalSecondaryIndexes"])
            and len(r["Properties"]["GlobalSecondaryIndexes"]) == 1
        ),
    )
    props = table["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    expected = "Delete" if synthesized.pipeline.config.name == "dev" else "Retain"
    assert table["DeletionPolicy"] == expected


def test_alarms_watch_dead_letters_backlog_and_errors(integration: dict[str, Any]) -> None:
    alarms = resources_of(integration, "AWS::CloudWatch::Alarm")
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms.values())
    assert metrics == [
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "WebhookEndpointsDisabled",
    ]
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())
    for topic in resources_of(integration, "AWS::SNS::Topic").values():
        assert "KmsMasterKeyId" in topic["Properties"]


def test_outputs_name_the_queues_and_the_table(synthesized: Synthesized) -> None:
    assert {outputs.WEBHOOK_DISPATCH_QUEUE_URL, outputs.WEBHOOK_DEAD_LETTER_QUEUE_URL} <= set(
        synthesized.template("Integration")["Outputs"]
    )
    assert outputs.WEBHOOKS_TABLE_NAME in synthesized.template("Data")["Outputs"]


def test_the_integration_stack_sits_between_recognition_and_the_api(synthesized: Synthesized) -> None:
    pipeline = synthesized.pipeline
    assert pipeline.recognition in pipeline.integration.dependencies
    assert pipeline.data in pipeline.integration.dependencies
    assert pipeline.integration in pipeline.api.dependencies


def test_without_a_fixed_endpoint_there_is_no_secret(integration: dict[str, Any]) -> None:
    assert resources_of(integration, "AWS::SecretsManager::Secret") == {}


def test_a_fixed_endpoint_gets_a_kms_encrypted_generated_secret(with_endpoint: Synthesized) -> None:
    template = with_endpoint.template("Integration")
    _, secret = only(template, "AWS::SecretsManager::Secret")
    assert "KmsKeyId" in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"] == {
        "ExcludePunctuation": True,
        "IncludeSpace": False,
        "PasswordLength": 32,
    }
    assert outputs.WEBHOOK_ENDPOINT_SECRET_ARN in template["Outputs"]
    _, function = _function(template, DISPATCHER)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["FIXED_ENDPOINT_URL"] == ENDPOINT
    assert variables["FIXED_ENDPOINT_EVENTS"] == "image.analyzed,image.failed"
    statements = _statements(template, _role_id(function))
    reads = [s for s in statements if "secretsmanager:GetSecretValue" in _actions(s)]
    assert [s["Resource"] for s in reads] == [{"Ref": only(template, "AWS::SecretsManager::Secret")[0]}]
    # Decrypting the secret: granted by the key's policy, to this role, through Secrets Manager only
    [key_id, _] = secret["Properties"]["KmsKeyId"]["Fn::GetAtt"]
    key = template["Resources"][key_id]
    decrypt = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "kms:Decrypt" in _actions(s) and s["Principal"].get("AWS") == {"Fn::GetAtt": [_role_id(function), "Arn"]}
    ]
    assert len(decrypt) == 1
    assert "secretsmanager" in json.dumps(decrypt[0]["Condition"])
    assert not [s for s in statements if "kms:Decrypt" in _actions(s) and s["Resource"] == "*"]


def test_a_fixed_endpoint_leaves_cdk_nag_clean(with_endpoint: Synthesized) -> None:
    report = AwsSolutionsChecks(with_endpoint.pipeline.app).validate_scope(with_endpoint.pipeline.app)
    assert [v.rule_name for v in report.violations] == []


def test_a_fixed_endpoint_must_be_https() -> None:
    import dataclasses

    from stacks.config import config_for

    with pytest.raises(ValueError, match="https"):
        dataclasses.replace(config_for("dev").webhooks, endpoint_url="http://hooks.example.org/")
    assert Match  # the assertions module is imported for has_resource_properties above


def _secrets_key(integration: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return only(integration, "AWS::KMS::Key", lambda r: "signing secrets" in r["Properties"].get("Description", ""))


def _kms_statements(synthesized: Synthesized, key_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(stack part, role logical id) -> the identity-policy statements of that role naming the secrets key."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for part, template in synthesized.templates.items():
        for policy in resources_of(template, "AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                names_key = key_id in json.dumps(statement.get("Resource")) or "SecretsKey" in json.dumps(
                    statement.get("Resource")
                )
                if names_key or any(
                    a.startswith("kms:") and "Secrets" in json.dumps(statement) for a in _actions(statement)
                ):
                    for role in policy["Properties"].get("Roles", []):
                        found.setdefault((part, json.dumps(role)), []).append(statement)
    return found


def test_signing_secrets_have_their_own_rotating_customer_managed_key(synthesized: Synthesized) -> None:
    _, key = _secrets_key(synthesized.template("Integration"))
    assert key["Properties"]["EnableKeyRotation"] is True
    expected = "Delete" if synthesized.pipeline.config.name == "dev" else "Retain"
    assert key["DeletionPolicy"] == expected


def test_only_the_api_encrypts_and_only_the_dispatcher_decrypts_with_the_secrets_key(synthesized: Synthesized) -> None:
    integration, api = synthesized.template("Integration"), synthesized.template("Api")
    key_id, key = _secrets_key(integration)
    dispatcher_role = _role_id(_function(integration, DISPATCHER)[1])
    api_role = _role_id(_function(api, API)[1])
    # Every identity-policy statement on the key, in every stack, by role
    grants = _kms_statements(synthesized, key_id)
    actions = {role: sorted(a for s in statements for a in _actions(s)) for role, statements in grants.items()}
    assert actions == {
        ("Integration", json.dumps({"Ref": dispatcher_role})): ["kms:Decrypt"],
        ("Api", json.dumps({"Ref": api_role})): ["kms:Encrypt"],
    }
    # each only on that key, and only with the adapter's encryption context (a webhook id and its owner)
    for statements in grants.values():
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "*" not in json.dumps(statement["Resource"])
            conditions = statement["Condition"]
            assert conditions["ForAllValues:StringEquals"] == {"kms:EncryptionContextKeys": ["webhookId", "owner"]}
            assert conditions["Null"] == {
                "kms:EncryptionContext:webhookId": "false",
                "kms:EncryptionContext:owner": "false",
            }
            assert conditions["StringLike"] == {"kms:EncryptionContext:webhookId": "wh_*"}
    # The key policy: the account delegates to IAM, and denies Decrypt to any principal but the dispatcher's role
    policy = key["Properties"]["KeyPolicy"]["Statement"]
    [deny] = [s for s in policy if s["Effect"] == "Deny"]
    assert _actions(deny) == ["kms:Decrypt"]
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [dispatcher_role, "Arn"]}}}
    allows = [s for s in policy if s["Effect"] == "Allow"]
    assert [_actions(s) for s in allows] == [["kms:*"]]
    assert "root" in json.dumps(allows[0]["Principal"])


def test_both_functions_are_told_the_secrets_key(synthesized: Synthesized) -> None:
    integration, api = synthesized.template("Integration"), synthesized.template("Api")
    key_id, _ = _secrets_key(integration)
    dispatcher_key = _function(integration, DISPATCHER)[1]["Properties"]["Environment"]["Variables"]
    assert dispatcher_key["WEBHOOK_SECRETS_KEY_ARN"] == {"Fn::GetAtt": [key_id, "Arn"]}
    api_key = _function(api, API)[1]["Properties"]["Environment"]["Variables"]["WEBHOOK_SECRETS_KEY_ARN"]
    assert "ImportValue" in json.dumps(api_key)


def test_the_owner_index_never_carries_the_secrets(synthesized: Synthesized) -> None:
    _, table = only(
        synthesized.template("Data"),
        "AWS::DynamoDB::GlobalTable",
        lambda r: [i["IndexName"] for i in r["Properties"]["GlobalSecondaryIndexes"]] == ["ByOwnerListing"],
    )
    [index] = table["Properties"]["GlobalSecondaryIndexes"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert "secrets" not in index["Projection"]["NonKeyAttributes"]
    assert {"webhookId", "url", "events", "status", "createdAt"} <= set(index["Projection"]["NonKeyAttributes"])


def test_an_alarm_watches_disabled_endpoints(integration: dict[str, Any]) -> None:
    [alarm] = [
        a["Properties"]
        for a in resources_of(integration, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "WebhookEndpointsDisabled"
    ]
    # the metric the dispatcher emits (namespace and service dimension of its Powertools settings)
    _, function = _function(integration, DISPATCHER)
    variables = function["Properties"]["Environment"]["Variables"]
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        0,
        "GreaterThanThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"]


def _owner_indexes(synth: Synthesized) -> dict[str, dict[str, Any]]:
    _, table = only(
        synth.template("Data"),
        "AWS::DynamoDB::GlobalTable",
        lambda r: any(i["IndexName"] == "ByOwnerListing" for i in r["Properties"]["GlobalSecondaryIndexes"]),
    )
    return {i["IndexName"]: i for i in table["Properties"]["GlobalSecondaryIndexes"]}


def test_upgrading_from_the_first_releases_owner_index_takes_two_deploys_of_one_index_change_each(
    synthesized: Synthesized, upgrading: Synthesized
) -> None:
    # DynamoDB cannot change an index's projection in place, and CloudFormation refuses to add one index and
    # remove another in one update. The first release had ByOwner projecting every attribute (the secrets too).
    first_release = {
        "IndexName": "ByOwner",
        "KeySchema": [
            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    # Given the upgrade's first deploy (-c webhooksLegacyOwnerIndex=true)
    during, after = _owner_indexes(upgrading), _owner_indexes(synthesized)
    # Then it keeps that index exactly as it was and adds the new one (one index change), and the functions
    # query the old one meanwhile (the new one may still be backfilling)
    assert during["ByOwner"] == first_release
    assert during["ByOwnerListing"] == after["ByOwnerListing"]
    for part, handler in (("Integration", DISPATCHER), ("Api", API)):
        variables = _function(upgrading.template(part), handler)[1]["Properties"]["Environment"]["Variables"]
        assert variables["WEBHOOKS_OWNER_INDEX"] == "ByOwner"
    # And the next deploy, without the flag, removes the old one (one index change) and queries the new one
    assert set(after) == {"ByOwnerListing"}
    for part, handler in (("Integration", DISPATCHER), ("Api", API)):
        variables = _function(synthesized.template(part), handler)[1]["Properties"]["Environment"]["Variables"]
        assert variables["WEBHOOKS_OWNER_INDEX"] == "ByOwnerListing"
