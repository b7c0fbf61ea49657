"""``make doctor``: each check passes on a ready account and fails (saying what to do) on one that is not.

moto stands in for the services it emulates (STS, CloudFormation, SSM); botocore's Stubber for the answers
moto does not give (Service Quotas, Lambda account settings, IAM's simulator, Rekognition's refusals).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.parsers import ResponseParserError
from botocore.stub import Stubber
from moto import mock_aws

from ops.doctor import (
    Finding,
    Plan,
    Status,
    check_alarm_email,
    check_bootstrap,
    check_identity,
    check_lambda_concurrency,
    check_permissions,
    check_rekognition,
    check_rekognition_quotas,
    check_stacks,
    check_table_indexes,
    check_webhook_endpoint,
    index_shapes,
    main,
    report,
    run_checks,
)
from stacks.config import config_for

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
OPERATIONS = ("DetectLabels", "DetectText")
OFFERED = ("us-east-1", "eu-west-1")
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-{REGION}"


def plan(env: str = "dev", **changes: Any) -> Plan:
    base = Plan(
        config=config_for(env),
        assembly_dir=Path("cdk.out") / env,
        account=ACCOUNT,
        region=REGION,
        stack_names=(f"ImagePipeline-{env}-Data", f"ImagePipeline-{env}-Recognition"),
        required_bootstrap_version=6,
        bootstrap_parameter=BOOTSTRAP_PARAMETER,
        rekognition_operations=OPERATIONS,
        reserved_concurrency=0,
        event_source_max_concurrency=4,
        alarm_emails=(),
        webhook_endpoints=(),
        create_actions=("lambda:CreateFunction", "s3:CreateBucket"),
    )
    return dataclasses.replace(base, **changes)


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def bootstrapped(version: int = 30) -> None:
    """What `cdk bootstrap` leaves in the account (in moto): the CDKToolkit stack and its version parameter."""
    template = '{"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}'
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="CDKToolkit", TemplateBody=template)
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=BOOTSTRAP_PARAMETER, Value=str(version), Type="String")


def clients() -> tuple[Any, Any]:
    return boto3.client("cloudformation", region_name=REGION), boto3.client("ssm", region_name=REGION)


# -- identity --------------------------------------------------------------------------------------------------
def test_identity_passes_for_the_account_the_app_was_synthesized_for(aws: None) -> None:
    finding, caller = check_identity(boto3.client("sts", region_name=REGION), plan())
    assert finding.status is Status.PASS
    assert caller is not None
    assert ACCOUNT in finding.message


def test_identity_fails_in_another_account(aws: None) -> None:
    finding, _ = check_identity(boto3.client("sts", region_name=REGION), plan(account="999999999999"))
    assert finding.status is Status.FAIL
    assert "999999999999" in finding.message
    assert finding.fix is not None


def test_identity_fails_without_credentials() -> None:
    sts, stub = stubbed("sts")
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId", "The security token is invalid")
    with stub:
        finding, caller = check_identity(sts, plan())
    assert (finding.status, caller) == (Status.FAIL, None)
    assert "credentials" in finding.message


# -- bootstrap -------------------------------------------------------------------------------------------------
def test_bootstrap_passes_at_a_version_the_app_accepts(aws: None) -> None:
    bootstrapped(version=30)
    finding = check_bootstrap(*clients(), plan(), REGION)
    assert finding.status is Status.PASS
    assert "version 30" in finding.message


def test_bootstrap_fails_when_the_account_was_never_bootstrapped(aws: None) -> None:
    finding = check_bootstrap(*clients(), plan(), REGION)
    assert finding.status is Status.FAIL
    assert finding.fix is not None
    assert "make bootstrap ENV=dev" in finding.fix


def test_bootstrap_fails_below_the_version_the_templates_require(aws: None) -> None:
    bootstrapped(version=5)
    finding = check_bootstrap(*clients(), plan(required_bootstrap_version=6), REGION)
    assert finding.status is Status.FAIL
    assert "version 5, the app needs >= 6" in finding.message


# -- the app's stacks ------------------------------------------------------------------------------------------
def test_stacks_not_deployed_yet_pass(aws: None) -> None:
    findings = check_stacks(boto3.client("cloudformation", region_name=REGION), plan())
    assert [f.status for f in findings] == [Status.PASS, Status.PASS]


def test_a_stack_stuck_in_a_failed_rollback_fails_with_the_command_that_frees_it() -> None:
    cloudformation, stub = stubbed("cloudformation")
    for name, status in (
        ("ImagePipeline-dev-Data", "UPDATE_COMPLETE"),
        ("ImagePipeline-dev-Recognition", "UPDATE_ROLLBACK_FAILED"),
    ):
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": name, "StackStatus": status, "CreationTime": "2026-01-01T00:00:00Z"}]},
            {"StackName": name},
        )
    with stub:
        data, recognition = check_stacks(cloudformation, plan())
    assert data.status is Status.PASS
    assert recognition.status is Status.FAIL
    assert recognition.fix == "aws cloudformation continue-update-rollback --stack-name ImagePipeline-dev-Recognition"


# -- DynamoDB indexes a deploy would change ---------------------------------------------------------------------
KEYS = [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}]
FIRST_RELEASE_INDEX = {"IndexName": "ByOwner", "KeySchema": KEYS, "Projection": {"ProjectionType": "ALL"}}
LISTING_INDEX = {
    "IndexName": "ByOwnerListing",
    "KeySchema": KEYS,
    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["url", "webhookId"]},
}


def deployed_table(indexes: list[dict[str, Any]]) -> tuple[Any, Any, list[Stubber]]:
    """CloudFormation naming the webhooks table of the Data stack, and DynamoDB describing it with ``indexes``."""
    cloudformation, cfn_stub = stubbed("cloudformation")
    dynamodb, ddb_stub = stubbed("dynamodb")
    cfn_stub.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": "WebhooksTable",
                "PhysicalResourceId": "webhooks-1",
                "ResourceType": "AWS::DynamoDB::GlobalTable",
                "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        },
        {"StackName": "ImagePipeline-prod-Data", "LogicalResourceId": "WebhooksTable"},
    )
    ddb_stub.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": "webhooks-1",
                "GlobalSecondaryIndexes": [
                    {**index, "IndexStatus": "ACTIVE"}
                    for index in indexes  # type: ignore[dict-item]
                ],
            }
        },
        {"TableName": "webhooks-1"},
    )
    return cloudformation, dynamodb, [cfn_stub, ddb_stub]


def with_indexes(*indexes: dict[str, Any]) -> Plan:
    return plan("prod", table_indexes=(("ImagePipeline-prod-Data", "WebhooksTable", index_shapes(indexes)),))


def test_an_upgrade_that_would_swap_the_owner_index_in_one_deploy_fails_with_the_two_step_way() -> None:
    # Given a deployment of the first release (its owner index projecting every attribute, the secrets too)
    cloudformation, dynamodb, stubs = deployed_table([FIRST_RELEASE_INDEX])
    # When the templates replace it with the listing index in one deploy
    with stubs[0], stubs[1]:
        [finding] = check_table_indexes(cloudformation, dynamodb, with_indexes(LISTING_INDEX))
    # Then the doctor fails before CloudFormation would ("Cannot perform more than one GSI creation or deletion")
    assert finding.status is Status.FAIL
    assert "1 index(es) added (ByOwnerListing) and 1 removed (ByOwner)" in finding.message
    assert finding.fix is not None
    assert "webhooksLegacyOwnerIndex=true" in finding.fix


def test_the_upgrades_first_deploy_adds_one_index_and_passes() -> None:
    cloudformation, dynamodb, stubs = deployed_table([FIRST_RELEASE_INDEX])
    with stubs[0], stubs[1]:
        [finding] = check_table_indexes(cloudformation, dynamodb, with_indexes(FIRST_RELEASE_INDEX, LISTING_INDEX))
    assert (finding.status, finding.message) == (
        Status.PASS,
        "ImagePipeline-prod-Data/WebhooksTable (webhooks-1): adds ByOwnerListing",
    )


def test_an_index_whose_projection_would_change_in_place_fails() -> None:
    cloudformation, dynamodb, stubs = deployed_table([FIRST_RELEASE_INDEX])
    narrowed = {**LISTING_INDEX, "IndexName": "ByOwner"}
    with stubs[0], stubs[1]:
        [finding] = check_table_indexes(cloudformation, dynamodb, with_indexes(narrowed))
    assert finding.status is Status.FAIL
    assert "ByOwner would change in place" in finding.message


def test_a_table_not_deployed_yet_passes() -> None:
    cloudformation, stub = stubbed("cloudformation")
    stub.add_client_error(
        "describe_stack_resource", "ValidationError", "Stack 'ImagePipeline-prod-Data' does not exist"
    )
    with stub:
        [finding] = check_table_indexes(cloudformation, None, with_indexes(LISTING_INDEX))
    assert finding.status is Status.PASS


# -- Rekognition in the region -----------------------------------------------------------------------------------
def test_rekognition_operations_that_refuse_a_bogus_image_are_offered() -> None:
    rekognition, stub = stubbed("rekognition")
    for _ in OPERATIONS:
        stub.add_client_error("detect_labels" if _ == "DetectLabels" else "detect_text", "InvalidImageFormatException")
    with stub:
        findings = check_rekognition(rekognition, plan(), REGION, OFFERED)
    assert [f.status for f in findings] == [Status.PASS, Status.PASS]
    stub.assert_no_pending_responses()


class NoEndpoint:
    """A Rekognition client in a region without Rekognition: its host name does not resolve."""

    def __getattr__(self, name: str) -> Any:
        def call(**_kwargs: Any) -> None:
            raise EndpointConnectionError(endpoint_url="https://rekognition.eu-west-3.amazonaws.com/")

        return call


def test_rekognition_fails_in_a_region_that_does_not_offer_it() -> None:
    findings = check_rekognition(NoEndpoint(), plan(), "eu-west-3", OFFERED)
    assert {f.status for f in findings} == {Status.FAIL}
    assert "not in botocore's list of Rekognition regions" in findings[0].message
    assert findings[0].fix is not None
    assert "us-east-1" in findings[0].fix


def test_rekognition_denied_to_the_caller_is_a_warning() -> None:
    rekognition, stub = stubbed("rekognition")
    stub.add_client_error("detect_labels", "AccessDeniedException", "explicit deny in a service control policy")
    with stub:
        (finding,) = check_rekognition(rekognition, plan(rekognition_operations=("DetectLabels",)), REGION, OFFERED)
    assert finding.status is Status.WARN


def test_an_unexpected_rekognition_answer_in_a_listed_region_is_a_warning_not_a_verdict() -> None:
    rekognition, stub = stubbed("rekognition")
    stub.add_client_error("detect_labels", "InternalServerError", "<html>\n<title>500</title>", http_status_code=500)
    with stub:
        (finding,) = check_rekognition(rekognition, plan(rekognition_operations=("DetectLabels",)), REGION, OFFERED)
    assert finding.status is Status.WARN
    assert "\n" not in finding.message


# -- Rekognition quotas ----------------------------------------------------------------------------------------
def quota(operation: str, code: str, value: float) -> dict[str, Any]:
    return {
        "ServiceCode": "rekognition",
        "QuotaCode": code,
        "QuotaName": f"Transactions per second per account for the Amazon Rekognition Image operation {operation}",
        "Value": value,
    }


def quotas_client(defaults: list[dict[str, Any]], applied: list[dict[str, Any]]) -> tuple[Any, Stubber]:
    client, stub = stubbed("service-quotas")
    stub.add_response("list_aws_default_service_quotas", {"Quotas": defaults}, {"ServiceCode": "rekognition"})
    stub.add_response("list_service_quotas", {"Quotas": applied}, {"ServiceCode": "rekognition"})
    return client, stub


def test_quotas_at_least_the_configured_tps_pass() -> None:
    client, stub = quotas_client([quota("DetectLabels", "L-1", 5), quota("DetectText", "L-2", 5)], [])
    with stub:
        findings = check_rekognition_quotas(client, plan("dev"), REGION)
    assert [f.status for f in findings] == [Status.PASS, Status.PASS]


def test_a_quota_below_the_configured_tps_fails_with_the_exact_increase_request() -> None:
    # Given prod assumes 50 TPS; the account has 50 for DetectLabels (raised) but the default 5 for DetectText
    client, stub = quotas_client(
        [quota("DetectLabels", "L-1", 5), quota("DetectText", "L-2", 5)], [quota("DetectLabels", "L-1", 50)]
    )
    with stub:
        labels, text = check_rekognition_quotas(client, plan("prod"), REGION)
    assert labels.status is Status.PASS
    assert text.status is Status.FAIL
    assert text.fix is not None
    assert text.fix.startswith(
        "aws service-quotas request-service-quota-increase --service-code rekognition"
        f" --quota-code L-2 --desired-value 50 --region {REGION}"
    )


# -- Lambda concurrency ----------------------------------------------------------------------------------------
def lambda_client(total: int, unreserved: int) -> tuple[Any, Stubber]:
    client, stub = stubbed("lambda")
    limits = {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}
    stub.add_response("get_account_settings", {"AccountLimit": limits, "AccountUsage": {}})
    return client, stub


def test_lambda_concurrency_with_room_for_the_functions_passes() -> None:
    client, stub = lambda_client(1000, 1000)
    with stub:
        assert check_lambda_concurrency(client, plan(), REGION).status is Status.PASS


def test_a_new_accounts_concurrency_of_10_fails_with_the_increase_request() -> None:
    client, stub = lambda_client(10, 10)
    with stub:
        finding = check_lambda_concurrency(client, plan(event_source_max_concurrency=4), REGION)
    assert finding.status is Status.FAIL
    assert "the functions need 104" in finding.message
    assert finding.fix is not None
    assert "--service-code lambda --quota-code L-B99A9384 --desired-value 104" in finding.fix


# -- alarm e-mail ------------------------------------------------------------------------------------------------
def test_prod_with_an_alarm_email_passes_and_dev_needs_none() -> None:
    assert check_alarm_email(plan("prod", alarm_emails=("ops@example.com",))).status is Status.PASS
    assert check_alarm_email(plan("dev")).status is Status.PASS


def test_staging_and_prod_without_an_alarm_email_fail() -> None:
    for env in ("staging", "prod"):
        finding = check_alarm_email(plan(env))
        assert finding.status is Status.FAIL
        assert finding.fix is not None
        assert "alarmEmail" in finding.fix


# -- webhook endpoint --------------------------------------------------------------------------------------------
def test_a_public_https_webhook_endpoint_passes() -> None:
    (finding,) = check_webhook_endpoint(
        plan(webhook_endpoints=("https://hooks.example.com/in",)), lambda host, port: ["93.184.215.14"]
    )
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("url", "answer", "why"),
    [
        ("https://hooks.example.com/in", "10.1.2.3", "10.1.2.3 is in 10.0.0.0/8"),
        ("https://hooks.example.com/in", "169.254.169.254", "169.254.0.0/16"),
        ("http://hooks.example.com/in", "93.184.215.14", "only https"),
    ],
)
def test_a_webhook_endpoint_that_is_not_https_or_resolves_to_a_private_address_fails(
    url: str, answer: str, why: str
) -> None:
    (finding,) = check_webhook_endpoint(plan(webhook_endpoints=(url,)), lambda host, port: [answer])
    assert finding.status is Status.FAIL
    assert why in finding.message


def test_no_webhook_endpoint_configured_passes() -> None:
    assert [f.status for f in check_webhook_endpoint(plan())] == [Status.PASS]


# -- SCPs ------------------------------------------------------------------------------------------------------
def simulation(action: str, decision: str, by_organizations: bool = True) -> dict[str, Any]:
    return {
        "EvalActionName": action,
        "EvalDecision": decision,
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": by_organizations},
    }


def simulated(*results: dict[str, Any]) -> tuple[Any, Stubber]:
    client, stub = stubbed("iam")
    stub.add_response("simulate_principal_policy", {"EvaluationResults": list(results), "IsTruncated": False})
    return client, stub


def test_permissions_allowed_by_iam_and_organizations_pass() -> None:
    client, stub = simulated(*(simulation(a, "allowed") for a in ("lambda:CreateFunction", "s3:CreateBucket")))
    with stub:
        finding = check_permissions(client, plan(), ACCOUNT, REGION)
    assert finding.status is Status.PASS


def test_an_action_an_scp_denies_fails_and_names_it() -> None:
    client, stub = simulated(
        simulation("lambda:CreateFunction", "allowed"),
        simulation("rekognition:DetectLabels", "explicitDeny", by_organizations=False),
    )
    with stub:
        finding = check_permissions(client, plan(), ACCOUNT, REGION)
    assert finding.status is Status.FAIL
    assert finding.message == "an SCP denies rekognition:DetectLabels"


def test_permissions_are_simulated_for_the_bootstrap_execution_role_and_a_caller_without_the_simulator_is_warned() -> (
    None
):
    client, stub = stubbed("iam")
    stub.add_client_error("simulate_principal_policy", "AccessDenied", expected_params=None)
    with stub:
        finding = check_permissions(client, plan(), ACCOUNT, REGION)
    assert finding.status is Status.WARN
    client, stub = stubbed("iam")
    actions = ["lambda:CreateFunction", "rekognition:DetectLabels", "rekognition:DetectText", "s3:CreateBucket"]
    stub.add_response(
        "simulate_principal_policy",
        {"EvaluationResults": [], "IsTruncated": False},
        {"PolicySourceArn": EXEC_ROLE, "ActionNames": actions},
    )
    with stub:
        check_permissions(client, plan(), ACCOUNT, REGION)
    stub.assert_no_pending_responses()


# -- the whole run ---------------------------------------------------------------------------------------------
class Account:
    """A client factory: moto for what it emulates, the stubbed clients for the rest."""

    def __init__(self, stubbed_clients: dict[str, Any]) -> None:
        self.stubbed = stubbed_clients

    def __call__(self, service: str) -> Any:
        return self.stubbed.get(service) or boto3.client(service, region_name=REGION)


def account(*, quota_value: float, unreserved: int, scp_denies: bool) -> tuple[Account, list[Stubber]]:
    rekognition, rekognition_stub = stubbed("rekognition")
    rekognition_stub.add_client_error("detect_labels", "InvalidImageFormatException")
    rekognition_stub.add_client_error("detect_text", "InvalidImageFormatException")
    quotas, quotas_stub = quotas_client([quota("DetectLabels", "L-1", quota_value), quota("DetectText", "L-2", 50)], [])
    lambda_, lambda_stub = lambda_client(max(unreserved, 10), unreserved)
    iam, iam_stub = simulated(
        simulation("lambda:CreateFunction", "allowed"),
        simulation("s3:CreateBucket", "explicitDeny" if scp_denies else "allowed", by_organizations=not scp_denies),
    )
    stubs = [rekognition_stub, quotas_stub, lambda_stub, iam_stub]
    for stub in stubs:
        stub.activate()
    clients = {"rekognition": rekognition, "service-quotas": quotas, "lambda": lambda_, "iam": iam}
    return Account(clients), stubs


def run(target: Plan, factory: Account, answer: str) -> tuple[int, str]:
    out = io.StringIO()
    code = report(run_checks(target, factory, REGION, OFFERED, lambda host, port: [answer]), out)
    return code, out.getvalue()


def test_a_ready_account_passes_every_check(aws: None) -> None:
    bootstrapped()
    factory, _ = account(quota_value=50, unreserved=1000, scp_denies=False)
    target = plan("prod", alarm_emails=("ops@example.com",), webhook_endpoints=("https://hooks.example.com/in",))
    code, output = run(target, factory, "93.184.215.14")
    print(output)
    assert code == 0
    assert "FAIL" not in output
    assert "0 failed" in output


def test_an_account_that_is_not_ready_fails_and_says_what_to_do(aws: None) -> None:
    factory, _ = account(quota_value=5, unreserved=10, scp_denies=True)
    target = plan("prod", webhook_endpoints=("https://hooks.example.com/in",))
    code, output = run(target, factory, "10.0.0.7")
    print(output)
    assert code == 1
    failed = {line.split()[1] for line in output.splitlines() if line.startswith("FAIL")}
    assert failed == {"cdk", "rekognition", "lambda", "alarm", "webhook", "permissions"}
    assert "SKIP_DOCTOR=1" in output


def test_without_credentials_nothing_else_is_asked() -> None:
    sts, stub = stubbed("sts")
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId")
    with stub:
        findings = run_checks(plan(), Account({"sts": sts}), REGION, OFFERED)
    assert findings == [findings[0]]
    assert isinstance(findings[0], Finding)
    assert findings[0].status is Status.FAIL


def test_a_check_that_cannot_run_is_a_warning_and_the_others_still_run(aws: None) -> None:
    # Given an IAM endpoint that answers garbage (botocore cannot parse it) and an otherwise ready account
    bootstrapped()
    factory, _ = account(quota_value=50, unreserved=1000, scp_denies=False)

    class Garbled:
        def simulate_principal_policy(self, **_kwargs: Any) -> None:
            raise ResponseParserError("Unable to parse response (syntax error: line 1, column 0)")

    factory.stubbed["iam"] = Garbled()
    findings = run_checks(plan(), factory, REGION, OFFERED)
    # Then the permissions check is a warning, and every other check ran
    assert findings[-1].status is Status.WARN
    assert findings[-1].check == "permissions"
    assert "could not check" in findings[-1].message
    assert {f.check for f in findings} >= {"identity", "cdk bootstrap", "rekognition quota", "lambda concurrency"}


def minimal_assembly(directory: Path, environment: str = "aws://unknown-account/unknown-region") -> Path:
    """A cloud assembly of one stack: what `cdk synth` writes, as small as main() needs."""
    template = {
        "Parameters": {
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": BOOTSTRAP_PARAMETER}
        },
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    (directory / "ImagePipeline-dev-Data.template.json").write_text(json.dumps(template))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": environment,
        "properties": {"templateFile": "ImagePipeline-dev-Data.template.json", "requiresBootstrapStackVersion": 6},
        "displayName": "ImagePipeline-dev-Data",
    }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": {"ImagePipeline-dev-Data": stack}}))
    return directory


def test_main_checks_the_profiles_region_and_exits_1_on_a_failure(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials and a region in the environment, and an account that was never bootstrapped
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    code = main(["--env", "dev", "--assembly", str(minimal_assembly(tmp_path))])
    output = capsys.readouterr().out
    assert code == 1
    assert f"region {REGION}" in output
    assert "FAIL  cdk bootstrap" in output
    assert "PASS  stack state          ImagePipeline-dev-Data: not deployed yet" in output


def test_main_without_a_region_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance metadata service
    assert main(["--env", "dev", "--assembly", str(minimal_assembly(tmp_path))]) == 1
    assert "no region" in capsys.readouterr().out
