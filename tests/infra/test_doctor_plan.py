"""What `make doctor` reads out of the synthesized assembly is what the deploy will create."""

from __future__ import annotations

from ops.doctor import Plan
from stacks.constructs.recognition_worker import REKOGNITION_ACTIONS
from tests.support.synth import Synthesized, synthesize


def test_the_plan_names_the_stacks_bootstrap_operations_and_concurrency_of_the_app(synthesized: Synthesized) -> None:
    config = synthesized.pipeline.config
    plan = Plan.load(synthesized.outdir, config)
    assert plan.stack_names == tuple(
        f"ImagePipeline-{config.name}-{part}" for part in ("Data", "Recognition", "Integration", "Api", "Operations")
    )
    assert (plan.account, plan.region) == ("123456789012", "us-east-1")
    assert plan.required_bootstrap_version >= 6
    assert plan.bootstrap_parameter == "/cdk-bootstrap/hnb659fds/version"
    assert plan.qualifier == "hnb659fds"
    assert plan.rekognition_operations == tuple(sorted(a.split(":")[1] for a in REKOGNITION_ACTIONS))
    # Both queue pollers at their maximum (the worker's and the webhook dispatcher's); nothing reserved
    assert plan.event_source_max_concurrency == config.max_concurrency + config.webhooks.max_concurrency
    assert plan.reserved_concurrency == 0
    assert {"lambda:CreateFunction", "s3:CreateBucket", "dynamodb:CreateTable"} <= set(plan.create_actions)
    assert plan.alarm_emails == ()
    assert plan.webhook_endpoints == ()
    # Every table's global indexes, as the deploy will ask for them (the index check compares the deployed ones)
    indexes = {name for stack, _, shapes in plan.table_indexes for name in shapes if stack.endswith("-Data")}
    assert indexes == {"ByOwner", "ByOwnerLabel", "ByOwnerListing"}


def test_the_plan_sees_the_alarm_email_and_the_webhook_endpoint_given_as_context() -> None:
    with_email = synthesize("prod", alarmEmail="ops@example.org")
    assert Plan.load(with_email.outdir, with_email.pipeline.config).alarm_emails == ("ops@example.org",)
    endpoint = "https://hooks.example.org/image-pipeline"  # as tests/infra/test_integration_stack.py (one synth)
    with_endpoint = synthesize("prod", webhookEndpoint=endpoint)
    assert Plan.load(with_endpoint.outdir, with_endpoint.pipeline.config).webhook_endpoints == (endpoint,)


# Properties that would give a resource a fixed physical name, per type.
FIXED_NAMES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::WAFv2::WebACL": "Name",
    "AWS::KMS::Alias": "AliasName",
}


def test_no_resource_has_a_fixed_name_so_what_an_earlier_destroy_retained_cannot_collide(
    synthesized: Synthesized,
) -> None:
    # staging and prod retain their buckets and tables on destroy: a fixed name would make the next deploy fail
    for part, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            name = FIXED_NAMES.get(resource["Type"])
            assert name is None or name not in resource.get("Properties", {}), f"{part}/{logical_id} sets {name}"
