"""The emulator authorises calls signed with a role session against that role's policies (local/iam/enforcer.py).

A real emulator on loopback (the local mode's, with its presigned POST checks), a role made through moto's
IAM, its session from moto's STS (local.functions.environment.role_credentials, as each local function gets
its own), and boto3 clients signing with it, as a function's would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulator import SerialisedMotoServer
from local.functions.environment import role_credentials
from local.iam.enforcer import SigningSecrets

REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    admin = {os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]}
    server = SerialisedMotoServer(secrets=SigningSecrets(admin))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def admin(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def as_role(endpoint: str, service: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )


def role_with(endpoint: str, name: str, *statements: dict[str, Any]) -> dict[str, str]:
    """A role whose only policy has these statements, and a session of it."""
    iam = admin(endpoint, "iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_role_policy(RoleName=name, PolicyName="Default", PolicyDocument=json.dumps(policy))
    return role_credentials(admin(endpoint, "sts"), arn, f"{name}-session")


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_function_role_writes_where_it_is_granted_and_nowhere_else(endpoint: str) -> None:
    # Given two tables and a role allowed to put items into the first only
    dynamodb = admin(endpoint, "dynamodb")
    arns = []
    for name in ("Granted", "Other"):
        table = dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        arns.append(table["TableDescription"]["TableArn"])
    credentials = role_with(
        endpoint, "writer", {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": arns[0]}
    )
    client = as_role(endpoint, "dynamodb", credentials)
    # When it writes to each table
    client.put_item(TableName="Granted", Item={"pk": {"S": "a"}})
    with pytest.raises(ClientError) as other_table:
        client.put_item(TableName="Other", Item={"pk": {"S": "a"}})
    with pytest.raises(ClientError) as other_action:
        client.delete_item(TableName="Granted", Key={"pk": {"S": "a"}})
    # Then only the granted write happened; the rest fail as in AWS, naming the session, action and table
    assert error_code(other_table) == "AccessDeniedException"
    assert "assumed-role/writer/writer-session is not authorized to perform: dynamodb:PutItem" in str(other_table.value)
    assert arns[1] in str(other_table.value)
    assert error_code(other_action) == "AccessDeniedException"
    assert dynamodb.get_item(TableName="Granted", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    assert "Item" not in dynamodb.get_item(TableName="Other", Key={"pk": {"S": "a"}})
    # And the administrator (provisioner, tools) is not checked
    dynamodb.delete_item(TableName="Granted", Key={"pk": {"S": "a"}})


def test_a_transaction_needs_every_item_action(endpoint: str) -> None:
    dynamodb = admin(endpoint, "dynamodb")
    arn = dynamodb.create_table(
        TableName="Transactions",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    credentials = role_with(endpoint, "transactor", {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": arn})
    client = as_role(endpoint, "dynamodb", credentials)
    put = {"Put": {"TableName": "Transactions", "Item": {"pk": {"S": "p"}}}}
    check = {
        "ConditionCheck": {
            "TableName": "Transactions",
            "Key": {"pk": {"S": "c"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    client.transact_write_items(TransactItems=[put])
    with pytest.raises(ClientError) as denied:
        client.transact_write_items(TransactItems=[put, check])
    assert "dynamodb:ConditionCheckItem" in str(denied.value)


def test_queue_and_topic_grants(endpoint: str) -> None:
    queue_url = admin(endpoint, "sqs").create_queue(QueueName="jobs")["QueueUrl"]
    topic = admin(endpoint, "sns").create_topic(Name="events")["TopicArn"]
    credentials = role_with(
        endpoint,
        "sender",
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:{REGION}:123456789012:jobs"},
    )
    as_role(endpoint, "sqs", credentials).send_message(QueueUrl=queue_url, MessageBody="ok")
    with pytest.raises(ClientError) as receive:
        as_role(endpoint, "sqs", credentials).receive_message(QueueUrl=queue_url)
    with pytest.raises(ClientError) as publish:
        as_role(endpoint, "sns", credentials).publish(TopicArn=topic, Message="no")
    assert error_code(receive) == "AccessDenied"
    assert error_code(publish) == "AuthorizationError"


def test_a_session_token_that_does_not_match_is_refused(endpoint: str) -> None:
    credentials = role_with(endpoint, "anyone", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    forged = {**credentials, "AWS_SESSION_TOKEN": "forged"}
    with pytest.raises(ClientError) as refused:
        as_role(endpoint, "sqs", forged).list_queues()
    assert error_code(refused) == "InvalidClientTokenId"


def test_presigned_urls_and_posts_are_checked_against_the_signer_at_use_time(endpoint: str) -> None:
    # Given a bucket and a role that may write and read under uploads/ only
    s3 = admin(endpoint, "s3")
    s3.create_bucket(Bucket="images")
    credentials = role_with(
        endpoint,
        "signer",
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::images/uploads/*"},
    )
    signer = as_role(endpoint, "s3", credentials)
    # When the role signs a POST and a GET inside its grant, and outside it
    granted = signer.generate_presigned_post(Bucket="images", Key="uploads/a.png")
    refused = signer.generate_presigned_post(Bucket="images", Key="elsewhere/a.png")
    posted = requests.post(granted["url"], data=granted["fields"], files={"file": b"png"}, timeout=10)
    denied = requests.post(refused["url"], data=refused["fields"], files={"file": b"png"}, timeout=10)
    read = requests.get(
        signer.generate_presigned_url("get_object", Params={"Bucket": "images", "Key": "uploads/a.png"}), timeout=10
    )
    s3.put_object(Bucket="images", Key="elsewhere/b.png", Body=b"png")
    unread = requests.get(
        signer.generate_presigned_url("get_object", Params={"Bucket": "images", "Key": "elsewhere/b.png"}), timeout=10
    )
    # Then S3 answers as it would: stored and readable inside the grant, AccessDenied outside it
    assert posted.status_code == 204, posted.text
    assert read.status_code == 200
    assert read.content == b"png"
    assert denied.status_code == 403
    assert "<Code>AccessDenied</Code>" in denied.text
    assert unread.status_code == 403
    assert "s3:GetObject" in unread.text
    assert "Contents" not in s3.list_objects_v2(Bucket="images", Prefix="elsewhere/a.png")


def test_a_grant_removed_at_run_time_is_gone_for_the_next_call(endpoint: str) -> None:
    # Policies are read per request from moto's IAM, as IAM's changes reach callers
    queue_url = admin(endpoint, "sqs").create_queue(QueueName="later")["QueueUrl"]
    credentials = role_with(endpoint, "revoked", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    client = as_role(endpoint, "sqs", credentials)
    client.send_message(QueueUrl=queue_url, MessageBody="before")
    admin(endpoint, "iam").delete_role_policy(RoleName="revoked", PolicyName="Default")
    with pytest.raises(ClientError) as after:
        client.send_message(QueueUrl=queue_url, MessageBody="after")
    assert error_code(after) == "AccessDenied"
