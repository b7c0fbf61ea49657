"""``make doctor ENV=...``: read-only checks of the account and region a deploy would use, before ``cdk deploy``.

    make doctor ENV=prod             # synthesizes cdk.out/prod, then checks the AWS profile's account and region

Every check prints PASS, WARN or FAIL with what to do about it; the exit status is 1 when any check fails.
Nothing is created or changed: the calls are Get/List/Describe, IAM's policy simulator, and one Rekognition
call per operation with a 1-byte "image", which Rekognition refuses as InvalidImageFormat (proof that the
operation exists in the region; refused requests are not billed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from image_pipeline.webhooks.domain.targets import Resolver, TargetPolicy, TargetRefused, check_url, system_resolver
from local.cfn.assembly import Assembly
from stacks.config import EnvironmentConfig, config_for

# What AWS keeps unreserved in every account: reservations may not eat into it.
LAMBDA_MIN_UNRESERVED = 100
LAMBDA_CONCURRENCY_QUOTA_CODE = "L-B99A9384"  # Lambda "Concurrent executions"
ENVIRONMENTS_NEEDING_ALARM_EMAIL = ("staging", "prod")
# Stack states `cdk deploy` cannot start from (ROLLBACK_COMPLETE is deleted and re-created by the CLI).
BLOCKING_STACK_STATES = ("UPDATE_ROLLBACK_FAILED", "DELETE_FAILED", "ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED")
# The first call each resource type of ours makes the CloudFormation execution role do (for the SCP check).
CREATE_ACTIONS = {
    "AWS::ApiGateway::RestApi": "apigateway:POST",
    "AWS::CloudFront::Distribution": "cloudfront:CreateDistribution",
    "AWS::CloudWatch::Alarm": "cloudwatch:PutMetricAlarm",
    "AWS::Cognito::UserPool": "cognito-idp:CreateUserPool",
    "AWS::DynamoDB::GlobalTable": "dynamodb:CreateTable",
    "AWS::DynamoDB::Table": "dynamodb:CreateTable",
    "AWS::IAM::Role": "iam:CreateRole",
    "AWS::KMS::Key": "kms:CreateKey",
    "AWS::Lambda::EventSourceMapping": "lambda:CreateEventSourceMapping",
    "AWS::Lambda::Function": "lambda:CreateFunction",
    "AWS::Logs::LogGroup": "logs:CreateLogGroup",
    "AWS::S3::Bucket": "s3:CreateBucket",
    "AWS::SNS::Topic": "sns:CreateTopic",
    "AWS::SQS::Queue": "sqs:CreateQueue",
    "AWS::SecretsManager::Secret": "secretsmanager:CreateSecret",
    "AWS::WAFv2::WebACL": "wafv2:CreateWebACL",
}
# Rekognition's answers to a 1-byte image that prove the operation is there.
REKOGNITION_REFUSALS = ("InvalidImageFormatException", "InvalidParameterException", "ImageTooLargeException")


class Status(Enum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    message: str
    fix: str | None = None  # what to do, for WARN and FAIL

    def lines(self) -> list[str]:
        head = f"{self.status.value}  {self.check:<20} {self.message}"
        return [head] if self.fix is None else [head, f"      -> {self.fix}"]


# An index's key schema and projection, comparable between a template and DescribeTable's answer.
IndexShape = tuple[tuple[tuple[str, str], ...], str, tuple[str, ...]]


def index_shapes(indexes: Iterable[dict[str, Any]]) -> dict[str, IndexShape]:
    return {
        str(index["IndexName"]): (
            tuple((str(k["AttributeName"]), str(k["KeyType"])) for k in index["KeySchema"]),
            str(index.get("Projection", {}).get("ProjectionType", "ALL")),
            tuple(sorted(index.get("Projection", {}).get("NonKeyAttributes", []))),
        )
        for index in indexes
    }


@dataclass(frozen=True)
class Plan:
    """What the synthesized app needs from the account, read from its cloud assembly and the environment config."""

    config: EnvironmentConfig
    assembly_dir: Path
    account: str | None  # from the assembly's stack environment, None when environment-agnostic
    region: str | None
    stack_names: tuple[str, ...]
    required_bootstrap_version: int
    bootstrap_parameter: str
    rekognition_operations: tuple[str, ...]
    reserved_concurrency: int
    event_source_max_concurrency: int
    alarm_emails: tuple[str, ...]
    webhook_endpoints: tuple[str, ...]
    create_actions: tuple[str, ...] = field(default=())
    # Each DynamoDB table's global indexes in the templates: (stack, logical id, {index name: its shape}).
    table_indexes: tuple[tuple[str, str, dict[str, IndexShape]], ...] = field(default=())

    @property
    def qualifier(self) -> str:
        match = re.match(r"^/cdk-bootstrap/([^/]+)/version$", self.bootstrap_parameter)
        return match.group(1) if match else "hnb659fds"

    @classmethod
    def load(cls, directory: Path, config: EnvironmentConfig) -> Plan:
        artifacts: dict[str, Any] = json.loads((directory / "manifest.json").read_text())["artifacts"]
        stacks = {k: v for k, v in artifacts.items() if v.get("type") == "aws:cloudformation:stack"}
        environments = {str(stack.get("environment", "")) for stack in stacks.values()}
        account, region = _environment(environments.pop() if len(environments) == 1 else "")
        required = max(int(s.get("properties", {}).get("requiresBootstrapStackVersion", 0)) for s in stacks.values())
        assembly = Assembly.load(directory)
        parameters = [
            str(p.get("Default", ""))
            for stack in assembly.stacks.values()
            for name, p in stack.parameters.items()
            if name == "BootstrapVersion"
        ]
        operations: set[str] = set()
        for resource in assembly.resources("AWS::IAM::Policy"):
            for statement in resource.properties.get("PolicyDocument", {}).get("Statement", []):
                actions = statement.get("Action", [])
                for action in [actions] if isinstance(actions, str) else actions:
                    if isinstance(action, str) and action.startswith("rekognition:"):
                        operations.add(action.split(":", 1)[1])
        functions = list(assembly.resources("AWS::Lambda::Function"))
        mappings = list(assembly.resources("AWS::Lambda::EventSourceMapping"))
        return cls(
            config=config,
            assembly_dir=directory,
            account=account,
            region=region,
            stack_names=tuple(assembly.stacks),
            required_bootstrap_version=required,
            bootstrap_parameter=parameters[0] if parameters else "/cdk-bootstrap/hnb659fds/version",
            rekognition_operations=tuple(sorted(operations)),
            reserved_concurrency=sum(int(f.properties.get("ReservedConcurrentExecutions", 0)) for f in functions),
            event_source_max_concurrency=sum(
                int(m.properties.get("ScalingConfig", {}).get("MaximumConcurrency", 0)) for m in mappings
            ),
            alarm_emails=tuple(
                sorted(
                    {
                        str(s.properties["Endpoint"])
                        for s in assembly.resources("AWS::SNS::Subscription")
                        if s.properties.get("Protocol") == "email"
                    }
                )
            ),
            webhook_endpoints=tuple(
                str(f.properties["Environment"]["Variables"]["FIXED_ENDPOINT_URL"])
                for f in functions
                if "FIXED_ENDPOINT_URL" in f.properties.get("Environment", {}).get("Variables", {})
            ),
            create_actions=tuple(
                sorted({CREATE_ACTIONS[r.type] for r in assembly.resources() if r.type in CREATE_ACTIONS})
            ),
            table_indexes=tuple(
                (r.stack, r.logical_id, index_shapes(r.properties.get("GlobalSecondaryIndexes", [])))
                for table_type in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
                for r in assembly.resources(table_type)
            ),
        )


def _environment(text: str) -> tuple[str | None, str | None]:
    match = re.match(r"^aws://([^/]+)/(.+)$", text)
    if not match:
        return None, None
    account, region = match.groups()
    return (None if account.startswith("unknown") else account), (None if region.startswith("unknown") else region)


def _short(error: Exception) -> str:
    """An error's first line, at most 200 characters (services may answer with a whole HTML page)."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# -- the checks ---------------------------------------------------------------------------------------------
def check_identity(sts: Any, plan: Plan) -> tuple[Finding, str | None]:
    """Who deploys, and whether it is the account the assembly was synthesized for."""
    try:
        identity = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        return Finding(Status.FAIL, "identity", f"no usable AWS credentials: {_short(error)}", _CREDENTIALS_FIX), None
    account, arn = str(identity["Account"]), str(identity["Arn"])
    if plan.account is not None and plan.account != account:
        return Finding(
            Status.FAIL,
            "identity",
            f"{arn} is in account {account}, the assembly was synthesized for {plan.account}",
            "use the profile of the target account (AWS_PROFILE=...), then run make doctor again",
        ), arn
    return Finding(Status.PASS, "identity", f"{arn} (account {account})"), arn


_CREDENTIALS_FIX = "configure credentials: aws configure sso / AWS_PROFILE=... (then aws sts get-caller-identity)"


def check_bootstrap(cloudformation: Any, ssm: Any, plan: Plan, region: str) -> Finding:
    """CDKToolkit exists, is usable, and its version is at least what the app's templates require."""
    fix = f"make bootstrap ENV={plan.config.name}   (cdk bootstrap aws://ACCOUNT/{region})"
    try:
        stack = cloudformation.describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return Finding(Status.FAIL, "cdk bootstrap", f"no CDKToolkit stack in {region}", fix)
        return Finding(Status.WARN, "cdk bootstrap", f"could not read the CDKToolkit stack: {_short(error)}", fix)
    status = str(stack["StackStatus"])
    if status.endswith("_FAILED") or status in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        return Finding(Status.FAIL, "cdk bootstrap", f"CDKToolkit is {status}", f"fix or delete it, then {fix}")
    version = _bootstrap_version(ssm, plan, stack)
    if version is None:
        return Finding(Status.FAIL, "cdk bootstrap", f"{plan.bootstrap_parameter} is missing", fix)
    if version < plan.required_bootstrap_version:
        return Finding(
            Status.FAIL,
            "cdk bootstrap",
            f"version {version}, the app needs >= {plan.required_bootstrap_version}",
            f"upgrade it: {fix}",
        )
    return Finding(
        Status.PASS, "cdk bootstrap", f"CDKToolkit version {version} (needs >= {plan.required_bootstrap_version})"
    )


def _bootstrap_version(ssm: Any, plan: Plan, stack: dict[str, Any]) -> int | None:
    """The version the templates will read (the SSM parameter), else the stack's output."""
    try:
        return int(ssm.get_parameter(Name=plan.bootstrap_parameter)["Parameter"]["Value"])
    except ClientError:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return int(outputs["BootstrapVersion"]) if "BootstrapVersion" in outputs else None


def check_stacks(cloudformation: Any, plan: Plan) -> list[Finding]:
    """The app's own stacks are absent (first deploy) or in a state a deploy can start from."""
    findings = []
    for name in plan.stack_names:
        try:
            status = str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
        except ClientError as error:
            if "does not exist" in str(error):
                findings.append(Finding(Status.PASS, "stack state", f"{name}: not deployed yet"))
            else:
                findings.append(
                    Finding(Status.WARN, "stack state", f"{name}: {_short(error)}", "check it in the console")
                )
            continue
        if status in BLOCKING_STACK_STATES:
            fix = (
                f"aws cloudformation continue-update-rollback --stack-name {name}"
                if status == "UPDATE_ROLLBACK_FAILED"
                else f"aws cloudformation delete-stack --stack-name {name} (retained buckets/tables stay)"
            )
            findings.append(Finding(Status.FAIL, "stack state", f"{name}: {status}", fix))
        elif status.endswith("_IN_PROGRESS"):
            findings.append(
                Finding(Status.FAIL, "stack state", f"{name}: {status}", "wait until it finishes, then run again")
            )
        elif status == "ROLLBACK_COMPLETE":
            findings.append(
                Finding(
                    Status.WARN,
                    "stack state",
                    f"{name}: ROLLBACK_COMPLETE (an earlier first deploy failed)",
                    "cdk deploy deletes and re-creates it; look at its events for why it failed",
                )
            )
        else:
            findings.append(Finding(Status.PASS, "stack state", f"{name}: {status}"))
    return findings


def check_table_indexes(cloudformation: Any, dynamodb: Any, plan: Plan) -> list[Finding]:
    """A deploy changes each deployed table's global indexes in a way DynamoDB and CloudFormation accept: no
    index changed in place (its keys or projection), at most one added or removed per update."""
    findings = []
    for stack, logical_id, wanted in plan.table_indexes:
        try:
            physical = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
                "StackResourceDetail"
            ]["PhysicalResourceId"]
        except ClientError as error:
            if "does not exist" in str(error):
                findings.append(Finding(Status.PASS, "table indexes", f"{stack}/{logical_id}: not deployed yet"))
                continue
            raise
        deployed = index_shapes(dynamodb.describe_table(TableName=physical)["Table"].get("GlobalSecondaryIndexes", []))
        changed = sorted(name for name in set(wanted) & set(deployed) if wanted[name] != deployed[name])
        added, removed = sorted(set(wanted) - set(deployed)), sorted(set(deployed) - set(wanted))
        where = f"{stack}/{logical_id} ({physical})"
        if changed or len(added) + len(removed) > 1:
            legacy = removed == ["ByOwner"] and added == ["ByOwnerListing"]
            fix = (
                'deploy once with CDK_CONTEXT="-c webhooksLegacyOwnerIndex=true", run make seal-secrets, then deploy '
                "without it (docs/runbook.md, Upgrading)"
                if legacy
                else "add or remove one index per deploy; to change an index, add one under a new name, move the "
                "code to it, then remove the old one"
            )
            what = [f"{name} would change in place" for name in changed] + (
                [f"{len(added)} index(es) added ({', '.join(added)}) and {len(removed)} removed ({', '.join(removed)})"]
                if len(added) + len(removed) > 1
                else []
            )
            findings.append(Finding(Status.FAIL, "table indexes", f"{where}: {'; '.join(what)}", fix))
        else:
            change = f"adds {added[0]}" if added else f"removes {removed[0]}" if removed else "no index change"
            findings.append(Finding(Status.PASS, "table indexes", f"{where}: {change}"))
    return findings


def check_rekognition(rekognition: Any, plan: Plan, region: str, offered_regions: Sequence[str]) -> list[Finding]:
    """Every Rekognition operation the functions are granted answers in the region."""
    findings = []
    for operation in plan.rekognition_operations:
        method = getattr(rekognition, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        try:
            method(Image={"Bytes": b"\0"})
        except ClientError as error:
            code = _error_code(error)
            if code in REKOGNITION_REFUSALS:
                findings.append(Finding(Status.PASS, "rekognition", f"{operation} is offered in {region}"))
            elif code in ("AccessDeniedException", "AccessDenied"):
                findings.append(
                    Finding(
                        Status.WARN,
                        "rekognition",
                        f"{operation}: access denied to the caller, could not probe it",
                        "an SCP or the caller's IAM policy denies it: the functions' roles may be denied too",
                    )
                )
            elif region not in offered_regions:
                findings.append(_rekognition_missing(operation, region, f"{code}: {_short(error)}", offered_regions))
            else:
                findings.append(
                    Finding(
                        Status.WARN,
                        "rekognition",
                        f"{operation}: unexpected answer {code}: {_short(error)}",
                        "try the call by hand: aws rekognition detect-labels --image-bytes fileb://<a jpeg>",
                    )
                )
            continue
        except BotoCoreError as error:  # no endpoint in the region: the name does not resolve
            findings.append(_rekognition_missing(operation, region, _short(error), offered_regions))
            continue
        findings.append(Finding(Status.PASS, "rekognition", f"{operation} is offered in {region}"))
    return findings


def _rekognition_missing(operation: str, region: str, why: str, offered_regions: Sequence[str]) -> Finding:
    listed = "it is not in botocore's list of Rekognition regions" if region not in offered_regions else why
    return Finding(
        Status.FAIL,
        "rekognition",
        f"{operation} is not available in {region} ({listed})",
        f"deploy to a region that offers Rekognition Image, e.g. {', '.join(offered_regions[:6])}",
    )


def check_rekognition_quotas(service_quotas: Any, plan: Plan, region: str) -> list[Finding]:
    """The account's TPS quota per operation (Service Quotas) against the environment's configured quota."""
    configured = plan.config.rekognition_quotas.per_operation()
    try:
        quotas = _quotas(service_quotas, "list_aws_default_service_quotas") | _quotas(
            service_quotas, "list_service_quotas"
        )
    except (ClientError, BotoCoreError) as error:
        return [
            Finding(
                Status.WARN,
                "rekognition quota",
                f"could not read Service Quotas: {_short(error)}",
                "allow servicequotas:ListServiceQuotas and ListAWSDefaultServiceQuotas, or check them in the console",
            )
        ]
    findings = []
    for operation in plan.rekognition_operations:
        wanted = configured.get(operation, max(configured.values()))
        match = next(
            (
                quota
                for name, quota in sorted(quotas.items())
                if re.search(rf"\b{operation}\b", name) and "transactions per second" in name.lower()
            ),
            None,
        )
        if match is None:
            findings.append(
                Finding(
                    Status.WARN,
                    "rekognition quota",
                    f"{operation}: no TPS quota named after it in Service Quotas",
                    f"check it in the console; the config assumes {wanted} TPS",
                )
            )
            continue
        code, value = match
        if value < wanted:
            findings.append(
                Finding(
                    Status.FAIL,
                    "rekognition quota",
                    f"{operation}: {value:g} TPS in the account, the {plan.config.name} config assumes {wanted}",
                    f"aws service-quotas request-service-quota-increase --service-code rekognition"
                    f" --quota-code {code} --desired-value {wanted} --region {region}"
                    f"   (or lower rekognition_quotas in stacks/config.py: the worker keeps within them)",
                )
            )
        else:
            findings.append(Finding(Status.PASS, "rekognition quota", f"{operation}: {value:g} TPS >= {wanted}"))
    return findings


def _quotas(service_quotas: Any, operation: str) -> dict[str, tuple[str, float]]:
    """Quota name -> (code, value), every page."""
    found: dict[str, tuple[str, float]] = {}
    token: str | None = None
    while True:
        page = getattr(service_quotas, operation)(ServiceCode="rekognition", **({"NextToken": token} if token else {}))
        for quota in page.get("Quotas", []):
            found[str(quota["QuotaName"])] = (str(quota["QuotaCode"]), float(quota["Value"]))
        token = page.get("NextToken")
        if not token:
            return found


def check_lambda_concurrency(lambda_client: Any, plan: Plan, region: str) -> Finding:
    """Unreserved concurrency leaves room for the functions' reservations and event-source maxima, plus AWS's 100."""
    try:
        limits = lambda_client.get_account_settings()["AccountLimit"]
    except (ClientError, BotoCoreError) as error:
        return Finding(Status.WARN, "lambda concurrency", f"could not read the account settings: {_short(error)}", None)
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    total = int(limits["ConcurrentExecutions"])
    needed = plan.reserved_concurrency + plan.event_source_max_concurrency + LAMBDA_MIN_UNRESERVED
    detail = (
        f"{unreserved} unreserved of {total}; the functions need {needed}"
        f" (reserved {plan.reserved_concurrency} + queue pollers' maximum {plan.event_source_max_concurrency}"
        f" + {LAMBDA_MIN_UNRESERVED} AWS keeps unreserved)"
    )
    if unreserved < needed:
        return Finding(
            Status.FAIL,
            "lambda concurrency",
            detail,
            f"aws service-quotas request-service-quota-increase --service-code lambda"
            f" --quota-code {LAMBDA_CONCURRENCY_QUOTA_CODE} --desired-value {total + needed - unreserved}"
            f" --region {region}   (new accounts start at 10)",
        )
    return Finding(Status.PASS, "lambda concurrency", detail)


def check_alarm_email(plan: Plan) -> Finding:
    name = plan.config.name
    if plan.alarm_emails:
        return Finding(Status.PASS, "alarm e-mail", f"alarms go to {', '.join(plan.alarm_emails)}")
    if name in ENVIRONMENTS_NEEDING_ALARM_EMAIL:
        return Finding(
            Status.FAIL,
            "alarm e-mail",
            f"{name} has no alarm e-mail: its alarms would reach nobody",
            f"set alarm_email for {name} in stacks/config.py or deploy with"
            f" CDK_CONTEXT='-c alarmEmail=ops@example.com', then confirm the subscription e-mail",
        )
    return Finding(Status.PASS, "alarm e-mail", f"none for {name} (only staging and prod need one)")


def check_webhook_endpoint(plan: Plan, resolver: Resolver = system_resolver) -> list[Finding]:
    """A configured fixed endpoint passes the same SSRF rules the dispatcher applies at every delivery."""
    if not plan.webhook_endpoints:
        return [Finding(Status.PASS, "webhook endpoint", "none configured")]
    findings = []
    for url in plan.webhook_endpoints:
        try:
            target = check_url(url, TargetPolicy(), resolver)
        except TargetRefused as error:
            findings.append(
                Finding(
                    Status.FAIL,
                    "webhook endpoint",
                    f"{url}: {error}",
                    "use an https URL whose host resolves only to public addresses (-c webhookEndpoint=...)",
                )
            )
            continue
        findings.append(Finding(Status.PASS, "webhook endpoint", f"{url} is https and {target.host} is public"))
    return findings


def check_permissions(iam: Any, plan: Plan, account: str, region: str) -> Finding:
    """IAM's simulator on the bootstrap's CloudFormation execution role: does an SCP deny what the deploy does?"""
    role = f"arn:aws:iam::{account}:role/cdk-{plan.qualifier}-cfn-exec-role-{account}-{region}"
    actions = sorted({*plan.create_actions, *(f"rekognition:{op}" for op in plan.rekognition_operations)})
    try:
        results = _simulate(iam, role, actions)
    except ClientError as error:
        if _error_code(error) == "NoSuchEntity":
            return Finding(Status.WARN, "permissions", f"{role} does not exist", "bootstrap first (see above)")
        return Finding(
            Status.WARN,
            "permissions",
            f"could not simulate the deploy's actions: {_error_code(error)}",
            "allow iam:SimulatePrincipalPolicy to the caller to have SCP denials found before the deploy",
        )
    denied = [r for r in results if r["EvalDecision"] != "allowed"]
    if not denied:
        return Finding(Status.PASS, "permissions", f"{len(actions)} actions the deploy needs are allowed in {region}")
    by_scp = [
        r["EvalActionName"]
        for r in denied
        if not r.get("OrganizationsDecisionDetail", {}).get("AllowedByOrganizations", True)
    ]
    others = [r["EvalActionName"] for r in denied if r["EvalActionName"] not in by_scp]
    parts = ([f"an SCP denies {', '.join(by_scp)}"] if by_scp else []) + (
        [f"the execution role may not {', '.join(others)}"] if others else []
    )
    return Finding(
        Status.FAIL,
        "permissions",
        "; ".join(parts),
        "ask your organization's administrators to allow these in this account and region, or deploy elsewhere",
    )


def _simulate(iam: Any, role: str, actions: list[str]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = iam.simulate_principal_policy(
            PolicySourceArn=role, ActionNames=actions, **({"Marker": marker} if marker else {})
        )
        results += page["EvaluationResults"]
        marker = page.get("Marker") if page.get("IsTruncated") else None
        if not marker:
            return results


# -- running them -------------------------------------------------------------------------------------------
ClientFactory = Callable[[str], Any]


def run_checks(
    plan: Plan,
    client: ClientFactory,
    region: str,
    offered_regions: Sequence[str],
    resolver: Resolver = system_resolver,
) -> list[Finding]:
    identity, caller = check_identity(client("sts"), plan)
    findings = [identity]
    if caller is None:  # nothing else can be asked without credentials
        return findings
    if plan.region is not None and plan.region != region:
        findings.append(
            Finding(
                Status.FAIL,
                "region",
                f"the profile's region is {region}, the assembly was synthesized for {plan.region}",
                "set AWS_REGION (or the profile's region) to the same region for synth and deploy",
            )
        )
    account = caller.split(":")[4]
    checks: list[tuple[str, Callable[[], Finding | list[Finding]]]] = [
        ("cdk bootstrap", lambda: check_bootstrap(client("cloudformation"), client("ssm"), plan, region)),
        ("stack state", lambda: check_stacks(client("cloudformation"), plan)),
        ("table indexes", lambda: check_table_indexes(client("cloudformation"), client("dynamodb"), plan)),
        ("rekognition", lambda: check_rekognition(client("rekognition"), plan, region, offered_regions)),
        ("rekognition quota", lambda: check_rekognition_quotas(client("service-quotas"), plan, region)),
        ("lambda concurrency", lambda: check_lambda_concurrency(client("lambda"), plan, region)),
        ("alarm e-mail", lambda: check_alarm_email(plan)),
        ("webhook endpoint", lambda: check_webhook_endpoint(plan, resolver)),
        ("permissions", lambda: check_permissions(client("iam"), plan, account, region)),
    ]
    for name, check in checks:
        try:
            outcome = check()
        except Exception as error:  # an answer botocore cannot even parse: the other checks still run
            message = f"could not check: {type(error).__name__}: {_short(error)}"
            outcome = Finding(Status.WARN, name, message, "check it by hand before deploying")
        findings += outcome if isinstance(outcome, list) else [outcome]
    return findings


def report(findings: Iterable[Finding], out: TextIO | None = None) -> int:
    """Prints every finding and a summary; 1 when any check failed."""
    out = out or sys.stdout  # looked up now: sys.stdout may have been replaced since import
    counted = dict.fromkeys(Status, 0)
    for finding in findings:
        counted[finding.status] += 1
        for line in finding.lines():
            print(line, file=out)
    failed = counted[Status.FAIL]
    print(
        f"\n{counted[Status.PASS]} passed, {counted[Status.WARN]} warning(s), {failed} failed"
        + (": fix the FAIL lines before `make deploy` (SKIP_DOCTOR=1 skips this check)" if failed else ""),
        file=out,
    )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--env", required=True, help="dev, staging or prod")
    parser.add_argument("--assembly", type=Path, required=True, help="the synthesized cdk.out/<env>")
    arguments = parser.parse_args(argv)
    plan = Plan.load(arguments.assembly, config_for(arguments.env))
    session = boto3.session.Session()
    region = session.region_name or plan.region
    if region is None:
        print("FAIL  region               no region: set AWS_REGION or the profile's region")
        return 1
    print(f"make doctor ENV={plan.config.name}: region {region}, assembly {arguments.assembly}\n")
    offered = session.get_available_regions("rekognition")

    def client(service: str) -> Any:
        return session.client(service, region_name=region)

    return report(run_checks(plan, client, region, offered))


if __name__ == "__main__":
    sys.exit(main())
