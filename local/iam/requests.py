"""Which IAM actions on which resources an HTTP request to the emulator performs, and who signed it.

Covers what functions call: DynamoDB, SQS and Cognito (JSON protocol), SNS and SQS (query protocol), S3
(REST: objects, listings, DeleteObjects, presigned URLs and presigned POST uploads), STS. Another JSON or
query call is the action its operation names on resource ``*`` (only a ``Resource: "*"`` grant covers it).
See https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.etree import ElementTree

from moto.s3.responses import S3Response
from moto.s3.utils import bucket_name_from_url
from werkzeug.wrappers import Request as WsgiRequest

from local.iam.policy import Request

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
# Cognito calls that no IAM policy governs (the user's own tokens authorise them).
_PUBLIC_TARGETS = frozenset(
    {
        "AWSCognitoIdentityProviderService.InitiateAuth",
        "AWSCognitoIdentityProviderService.RespondToAuthChallenge",
        "AWSCognitoIdentityProviderService.SignUp",
        "AWSCognitoIdentityProviderService.ConfirmSignUp",
        "AWSCognitoIdentityProviderService.GetUser",
        "AWSCognitoIdentityProviderService.ForgotPassword",
        "AWSCognitoIdentityProviderService.GlobalSignOut",
        "AWSCognitoIdentityProviderService.RevokeToken",
    }
)
_ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
# DynamoDB operations whose items are authorised one by one, with the action of each item.
_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# S3 bucket sub-resources: query parameter -> (GET action, PUT action, DELETE action).
_BUCKET_SUBRESOURCES = {
    "notification": ("GetBucketNotification", "PutBucketNotification", ""),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", ""),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "acl": ("GetBucketAcl", "PutBucketAcl", ""),
    "location": ("GetBucketLocation", "", ""),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "uploads": ("ListBucketMultipartUploads", "", ""),
}


@dataclass(frozen=True)
class Caller:
    """Who signed a request (SigV4 credential scope), and for which region and service."""

    access_key: str
    session_token: str | None
    region: str
    service: str


@dataclass(frozen=True)
class Call:
    """What one HTTP request asks for: who signed it and each action on each resource."""

    caller: Caller
    operation: str
    requests: tuple[Request, ...]


def caller_of(environ: Mapping[str, Any], form: Mapping[str, str] | None = None) -> Caller | None:
    """From the Authorization header, a presigned URL's query or a presigned POST's form; None if unsigned."""
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if found:
        key, region, service = found.groups()
        return Caller(key, environ.get("HTTP_X_AMZ_SECURITY_TOKEN"), region, service)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = (query.get("X-Amz-Credential") or [""])[0]
    token = (query.get("X-Amz-Security-Token") or [None])[0]
    if not credential and form is not None:
        credential, token = form.get("x-amz-credential", ""), form.get("x-amz-security-token")
    parts = credential.split("/")
    return Caller(parts[0], token, parts[2], parts[3]) if len(parts) == 5 else None


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _queue_arn(url: str, region: str, account: str) -> str:
    path = [part for part in urlparse(url).path.split("/") if part]
    owner, name = (path[-2], path[-1]) if len(path) >= 2 else (account, path[-1] if path else "*")
    return _arn("sqs", region, owner, name)


def _dynamodb(operation: str, body: Mapping[str, Any], region: str, account: str) -> list[Request]:
    def table(name: str) -> str:
        return name if name.startswith("arn:") else _arn("dynamodb", region, account, f"table/{name}")

    if operation in ("TransactWriteItems", "TransactGetItems"):
        requests = []
        for item in body.get("TransactItems", []):
            for kind, detail in item.items():
                requests.append(Request(f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}", table(detail["TableName"])))
        return requests
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{operation}", table(name)) for name in body.get("RequestItems", {})]
    if "TableName" in body:
        resource = table(body["TableName"])
        if body.get("IndexName"):
            resource = f"{resource}/index/{body['IndexName']}"
        return [Request(f"dynamodb:{operation}", resource)]
    return [Request(f"dynamodb:{operation}", "*")]


def _kms(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[Request]:
    """A KMS call on its key (by ARN, id or alias), with the encryption context as condition keys."""
    key = str(params.get("KeyId", "*"))
    if key != "*" and not key.startswith("arn:"):
        key = _arn("kms", region, account, key if key.startswith("alias/") else f"key/{key}")
    given = params.get("EncryptionContext") or {}
    context: dict[str, str | Sequence[str]] = {f"kms:EncryptionContext:{name}": str(v) for name, v in given.items()}
    if given:
        context["kms:EncryptionContextKeys"] = list(given)
    return [Request(f"kms:{operation}", key, context)]


def _resource_of(service: str, operation: str, params: Mapping[str, Any], region: str, account: str) -> str:
    if service == "sqs":
        if "QueueUrl" in params:
            return _queue_arn(str(params["QueueUrl"]), region, account)
        if "QueueName" in params:
            return _arn("sqs", region, str(params.get("QueueOwnerAWSAccountId", account)), str(params["QueueName"]))
    if service == "sns":
        for name in ("TopicArn", "TargetArn", "ResourceArn", "SubscriptionArn"):
            if name in params:
                return str(params[name])
    if service == "cognito-idp" and "UserPoolId" in params:
        return _arn("cognito-idp", region, account, f"userpool/{params['UserPoolId']}")
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        return secret if secret.startswith("arn:") else _arn("secretsmanager", region, account, f"secret:{secret}")
    if service == "sts" and "RoleArn" in params:
        return str(params["RoleArn"])
    return "*"


def _json_call(service: str, target: str, body: bytes, region: str, account: str) -> tuple[str, list[Request]]:
    operation = target.rsplit(".", 1)[-1]
    params: dict[str, Any] = json.loads(body or b"{}")
    if service == "dynamodb":
        return operation, _dynamodb(operation, params, region, account)
    if service == "kms":
        return operation, _kms(operation, params, region, account)
    action = _SQS_BATCH_ACTIONS.get(operation, operation) if service == "sqs" else operation
    return operation, [Request(f"{service}:{action}", _resource_of(service, operation, params, region, account))]


def _query_call(service: str, params: Mapping[str, str], region: str, account: str) -> tuple[str, list[Request]]:
    operation = params.get("Action", "")
    action = _SQS_BATCH_ACTIONS.get(operation, operation) if service == "sqs" else operation
    if service == "sns" and operation == "PublishBatch":
        action = "Publish"
    return operation, [Request(f"{service}:{action}", _resource_of(service, operation, params, region, account))]


def _object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _s3_delete_objects(bucket: str, body: bytes) -> list[Request]:
    requests = []
    for element in ElementTree.fromstring(body).iter():
        if element.tag.rsplit("}", 1)[-1] != "Object":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
        action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
        requests.append(Request(action, _object_arn(bucket, fields.get("Key", ""))))
    return requests


def s3_bucket_and_key(environ: Mapping[str, Any]) -> tuple[str, str]:
    """(bucket, key) of an S3 request, path style (``/<bucket>/<key>``, what boto3 sends to an IP endpoint) or
    virtual-hosted style (``Host: <bucket>.s3.amazonaws.com`` or ``<bucket>.localhost``), decided as moto does."""
    path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace").lstrip("/")
    request = WsgiRequest(dict(environ))
    if S3Response.subdomain_based_buckets(request):
        return str(bucket_name_from_url(request.url) or ""), path
    bucket, _, key = path.partition("/")
    return bucket, key


def _s3_call(environ: Mapping[str, Any], body: bytes, form: Mapping[str, str] | None) -> tuple[str, list[Request]]:
    method = environ.get("REQUEST_METHOD", "GET")
    bucket, key = s3_bucket_and_key(environ)
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    versioned = "versionId" in query
    if not bucket:
        return "ListBuckets", [Request("s3:ListAllMyBuckets", "*")]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if form is not None:  # a presigned POST upload: the signer needs s3:PutObject on the key
        return "PostObject", [Request("s3:PutObject", _object_arn(bucket, form.get("key", "")))]
    if key:
        arn = _object_arn(bucket, key)
        if "tagging" in query:
            verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, "Get")
            return "ObjectTagging", [Request(f"s3:{verb}Object{'Version' if versioned else ''}Tagging", arn)]
        if method in ("GET", "HEAD"):
            return "GetObject", [Request(f"s3:GetObject{'Version' if versioned else ''}", arn)]
        if method == "DELETE":
            if "uploadId" in query:
                return "AbortMultipartUpload", [Request("s3:AbortMultipartUpload", arn)]
            return "DeleteObject", [Request(f"s3:DeleteObject{'Version' if versioned else ''}", arn)]
        requests = [Request("s3:PutObject", arn)]
        source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
        if method == "PUT" and source:
            source_path, _, source_query = unquote(source).lstrip("/").partition("?")
            action = "s3:GetObjectVersion" if "versionId=" in source_query else "s3:GetObject"
            requests.append(Request(action, f"arn:aws:s3:::{source_path}"))
        return "PutObject", requests
    if method == "POST" and "delete" in query:
        return "DeleteObjects", _s3_delete_objects(bucket, body)
    for name, (get, put, delete) in _BUCKET_SUBRESOURCES.items():
        if name in query:
            action = {"GET": get, "PUT": put, "DELETE": delete}.get(method, "")
            return name, [Request(f"s3:{action or method + 'Bucket-' + name}", bucket_arn)]
    context = {"s3:prefix": query["prefix"][0]} if "prefix" in query else {}
    if method in ("GET", "HEAD"):
        action = "s3:ListBucketVersions" if "versions" in query else "s3:ListBucket"
        return "ListObjects", [Request(action, bucket_arn, context)]
    action = {"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, f"s3:{method}Bucket")
    return action, [Request(action, bucket_arn)]


def describe(
    environ: Mapping[str, Any], body: bytes, account: str, form: Mapping[str, str] | None = None
) -> Call | None:
    """The call a request makes, or None when it is not signed (moto answers it as it does)."""
    caller = caller_of(environ, form)
    if caller is None:
        return None
    service, region = caller.service, caller.region
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target in _PUBLIC_TARGETS:
        return Call(caller, target, ())
    if service == "s3":
        operation, requests = _s3_call(environ, body, form)
    elif target:
        operation, requests = _json_call(service, target, body, region, account)
    else:
        params = {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}
        params.update({name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()})
        operation, requests = _query_call(service, params, region, account)
    return Call(caller, operation, tuple(r for r in requests if r.action not in _ALWAYS_ALLOWED))
