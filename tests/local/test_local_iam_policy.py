"""The local mode's identity-policy evaluation (local/iam/policy.py) and what a request asks for (requests.py)."""

from __future__ import annotations

import io
import json
from typing import Any

from local.iam.policy import Decision, Request, evaluate, matches
from local.iam.requests import describe

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Results"
BUCKET = "arn:aws:s3:::images"
AUTH = "AWS4-HMAC-SHA256 Credential=ASIAKEY/20261130/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_allow_on_the_action_and_resource_allows() -> None:
    statements = [allow(["dynamodb:GetItem", "dynamodb:PutItem"], [TABLE, f"{TABLE}/index/*"])]
    assert evaluate(statements, Request("dynamodb:PutItem", TABLE)) is Decision.ALLOW
    assert evaluate(statements, Request("dynamodb:Query", f"{TABLE}/index/byOwner")) is Decision.IMPLICIT_DENY


def test_nothing_granted_is_an_implicit_deny() -> None:
    statements = [allow("dynamodb:PutItem", TABLE)]
    assert evaluate(statements, Request("dynamodb:PutItem", f"{TABLE}-other")) is Decision.IMPLICIT_DENY
    assert evaluate([], Request("sns:Publish", "arn:aws:sns:us-east-1:123456789012:topic")) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [allow("s3:*", "*"), {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/*"}]
    assert evaluate(statements, Request("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOW
    assert evaluate(statements, Request("s3:DeleteObject", f"{BUCKET}/a")) is Decision.EXPLICIT_DENY


def test_actions_match_case_insensitively_resources_case_sensitively() -> None:
    assert matches("s3:GetObject*", "s3:getobjectversion", ignore_case=True)
    assert not matches(f"{BUCKET}/uploads/*", f"{BUCKET}/Uploads/a.png")
    assert matches(f"{BUCKET}/uploads/?.png", f"{BUCKET}/uploads/a.png")


def test_not_action_and_not_resource() -> None:
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/private/*"}]
    assert evaluate(statements, Request("s3:GetObject", f"{BUCKET}/public/a")) is Decision.ALLOW
    assert evaluate(statements, Request("s3:GetObject", f"{BUCKET}/private/a")) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("iam:CreateRole", "*")) is Decision.IMPLICIT_DENY


def test_a_condition_on_the_listing_prefix() -> None:
    # What CDK writes for the API's ListBucketVersions on uploads/ only
    statements = [allow("s3:ListBucketVersions", BUCKET, Condition={"StringLike": {"s3:prefix": ["uploads/*"]}})]
    assert evaluate(statements, Request("s3:ListBucketVersions", BUCKET, {"s3:prefix": "uploads/a"})) is Decision.ALLOW
    assert evaluate(statements, Request("s3:ListBucketVersions", BUCKET, {"s3:prefix": "other/a"})) is (
        Decision.IMPLICIT_DENY
    )
    assert evaluate(statements, Request("s3:ListBucketVersions", BUCKET)) is Decision.IMPLICIT_DENY


def test_an_unknown_condition_operator_never_grants_and_always_denies() -> None:
    condition = {"DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}}
    granted = [allow("sns:Publish", "*", Condition=condition)]
    denied = [
        allow("sns:Publish", "*"),
        {"Effect": "Deny", "Action": "sns:Publish", "Resource": "*", "Condition": condition},
    ]
    assert evaluate(granted, Request("sns:Publish", "arn:aws:sns:us-east-1:1:t")) is Decision.IMPLICIT_DENY
    assert evaluate(denied, Request("sns:Publish", "arn:aws:sns:us-east-1:1:t")) is Decision.EXPLICIT_DENY


def test_if_exists_and_null_conditions() -> None:
    statements = [
        allow("s3:ListBucket", BUCKET, Condition={"StringLikeIfExists": {"s3:prefix": "uploads/*"}}),
        allow("s3:GetObject", "*", Condition={"Null": {"s3:prefix": "true"}}),
    ]
    assert evaluate(statements, Request("s3:ListBucket", BUCKET)) is Decision.ALLOW
    assert evaluate(statements, Request("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOW
    assert evaluate(statements, Request("s3:GetObject", f"{BUCKET}/a", {"s3:prefix": "x"})) is Decision.IMPLICIT_DENY


def environ(
    service: str, *, target: str = "", method: str = "POST", path: str = "/", query: str = ""
) -> dict[str, Any]:
    found = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO()}
    found["HTTP_AUTHORIZATION"] = AUTH.format(service=service)
    if target:
        found["HTTP_X_AMZ_TARGET"] = target
    return found


def test_a_transaction_asks_for_each_item_action_on_its_table() -> None:
    body = {
        "TransactItems": [
            {"Put": {"TableName": "Results", "Item": {}}},
            {"ConditionCheck": {"TableName": "Results", "Key": {}}},
            {"Update": {"TableName": "Other", "Key": {}}},
        ]
    }
    call = describe(
        environ("dynamodb", target="DynamoDB_20120810.TransactWriteItems"), json.dumps(body).encode(), "123456789012"
    )
    assert call is not None
    assert call.caller.access_key == "ASIAKEY"
    assert [(r.action, r.resource) for r in call.requests] == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:ConditionCheckItem", TABLE),
        ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Other"),
    ]


def test_a_query_on_an_index_names_the_index() -> None:
    body = json.dumps({"TableName": "Results", "IndexName": "byOwner"}).encode()
    call = describe(environ("dynamodb", target="DynamoDB_20120810.Query"), body, "123456789012")
    assert call is not None
    assert [(r.action, r.resource) for r in call.requests] == [("dynamodb:Query", f"{TABLE}/index/byOwner")]


def test_queue_and_topic_calls_name_their_queue_and_topic() -> None:
    body = json.dumps({"QueueUrl": "http://127.0.0.1:1/123456789012/jobs", "Entries": []}).encode()
    call = describe(environ("sqs", target="AmazonSQS.SendMessageBatch"), body, "123456789012")
    assert call is not None
    assert [(r.action, r.resource) for r in call.requests] == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:jobs")
    ]
    topic = "arn:aws:sns:us-east-1:123456789012:events"
    call = describe(environ("sns"), f"Action=Publish&TopicArn={topic}&Message=x".encode(), "123456789012")
    assert call is not None
    assert [(r.action, r.resource) for r in call.requests] == [("sns:Publish", topic)]


def test_s3_object_calls_and_listings() -> None:
    def asks(method: str, path: str, query: str = "", body: bytes = b"") -> list[tuple[str, str]]:
        call = describe(environ("s3", method=method, path=path, query=query), body, "123456789012")
        assert call is not None
        return [(r.action, r.resource) for r in call.requests]

    assert asks("HEAD", "/images/uploads/a.png", "versionId=3") == [("s3:GetObjectVersion", f"{BUCKET}/uploads/a.png")]
    assert asks("GET", "/images/uploads/a.png") == [("s3:GetObject", f"{BUCKET}/uploads/a.png")]
    assert asks("PUT", "/images/uploads/a.png") == [("s3:PutObject", f"{BUCKET}/uploads/a.png")]
    assert asks("GET", "/images", "versions&prefix=uploads/a") == [("s3:ListBucketVersions", BUCKET)]
    delete = (
        b"<Delete><Object><Key>uploads/a</Key><VersionId>1</VersionId></Object><Object><Key>b</Key></Object></Delete>"
    )
    assert asks("POST", "/images", "delete", delete) == [
        ("s3:DeleteObjectVersion", f"{BUCKET}/uploads/a"),
        ("s3:DeleteObject", f"{BUCKET}/b"),
    ]


def test_a_presigned_url_is_the_signers_call() -> None:
    query = "X-Amz-Credential=ASIAKEY%2F20261130%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=tok"
    found = {"REQUEST_METHOD": "GET", "PATH_INFO": "/images/uploads/a.png", "QUERY_STRING": query}
    call = describe(found, b"", "123456789012")
    assert call is not None
    assert (call.caller.access_key, call.caller.session_token) == ("ASIAKEY", "tok")
    assert [r.action for r in call.requests] == ["s3:GetObject"]


def test_unsigned_and_public_calls_ask_for_nothing() -> None:
    assert describe({"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": ""}, b"{}", "123456789012") is None
    call = describe(environ("cognito-idp", target="AWSCognitoIdentityProviderService.InitiateAuth"), b"{}", "1")
    assert call is not None
    assert call.requests == ()


def test_a_virtual_hosted_request_names_the_bucket_of_its_host() -> None:
    found = environ("s3", method="GET", path="/uploads/a.png")
    found["HTTP_HOST"] = "images.s3.amazonaws.com"
    call = describe(found, b"", "123456789012")
    assert call is not None
    assert [(r.action, r.resource) for r in call.requests] == [("s3:GetObject", f"{BUCKET}/uploads/a.png")]


def test_a_kms_call_names_its_key_and_carries_the_encryption_context() -> None:
    # Given the API's grant: encrypt with this key only, with exactly the webhook's context
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-0000-4000-8000-000000000000"
    grant = allow(
        "kms:Encrypt",
        key,
        Condition={
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["webhookId", "owner"]},
            "Null": {"kms:EncryptionContext:webhookId": "false", "kms:EncryptionContext:owner": "false"},
            "StringLike": {"kms:EncryptionContext:webhookId": "wh_*"},
        },
    )

    def encrypt(context: dict[str, str]) -> Decision:
        body = {"KeyId": key.rsplit("/", 1)[1], "Plaintext": "eA==", "EncryptionContext": context}
        call = describe(environ("kms", target="TrentService.Encrypt"), json.dumps(body).encode(), "123456789012")
        assert call is not None
        [request] = call.requests
        assert (request.action, request.resource) == ("kms:Encrypt", key)
        return evaluate([grant], request)

    # Then the webhook's context is allowed; a missing key, another key or another id form is not
    assert encrypt({"webhookId": "wh_1", "owner": "alice"}) is Decision.ALLOW
    assert encrypt({"webhookId": "wh_1"}) is not Decision.ALLOW
    assert encrypt({"webhookId": "wh_1", "owner": "alice", "extra": "x"}) is not Decision.ALLOW
    assert encrypt({"webhookId": "other", "owner": "alice"}) is not Decision.ALLOW
