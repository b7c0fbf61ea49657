"""The API Gateway proxy event (REST API, version 1.0) a Lambda proxy integration receives."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from local.gateway.routes import GatewayRoute
from local.provisioners import ACCOUNT


def proxy_event(
    route: GatewayRoute,
    method: str,
    query: str,
    path: str,
    stage: str,
    parameters: dict[str, str],
    headers: list[tuple[str, str]],
    body: bytes,
    claims: dict[str, Any] | None,
    client: str,
    *,
    binary_media_types: tuple[str, ...],
    region: str,
) -> dict[str, Any]:
    """What API Gateway sends for ``method path?query`` (the path as sent, with its stage) matched to ``route``."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    binary = any(_media_matches(content_type, pattern) for pattern in binary_media_types)
    payload: str | None = None
    encoded = bool(body) and (binary or not _is_text(body))
    if body:
        payload = base64.b64encode(body).decode() if encoded else body.decode()
    now = time.time()
    resource_path = route.path
    request_context: dict[str, Any] = {
        "resourceId": route.resource_id,
        "resourcePath": resource_path,
        "httpMethod": method,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "path": path,
        "accountId": ACCOUNT,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": route.api_id,
        "requestTimeEpoch": int(now * 1000),
        "requestId": str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": client,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": next((v for n, v in headers if n.lower() == "user-agent"), None),
            "user": None,
        },
        "domainName": f"{route.api_id}.execute-api.{region}.amazonaws.com",
        "apiId": route.api_id,
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": _claim_strings(claims)}
    return {
        "resource": resource_path,
        "path": "/" + path.lstrip("/").partition("/")[2],
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": payload,
        "isBase64Encoded": encoded,
    }


_DATE_CLAIMS = ("exp", "iat")  # a REST API's Cognito authorizer writes these as dates (auth_time stays a number)


def _claim_strings(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as a REST API's Cognito authorizer passes them: ``"true"``, ``"Wed May 01 13:10:22 UTC 2024"``,
    groups as ``"admins,users"``."""

    def text(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if key in _DATE_CLAIMS and isinstance(value, int | float):
            return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        if isinstance(value, list):
            return ",".join(str(item) for item in value)
        return str(value)

    return {key: text(key, value) for key, value in claims.items()}


def _media_matches(content_type: str, pattern: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    pattern = pattern.replace("~1", "/").lower()
    return pattern == "*/*" or kind == pattern or (pattern.endswith("/*") and kind.startswith(pattern[:-1]))


def _is_text(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True
