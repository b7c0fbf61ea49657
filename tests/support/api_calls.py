"""API Gateway REST proxy events (v1) as the Cognito authorizer passes them, and the handler's answers."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.lambda_sqs import LambdaContext

STAGE = "v1"


def proxy_event(
    method: str,
    path: str,
    *,
    owner: str | None,
    body: Any = None,
    origin: str | None = None,
    resource: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> dict[str, Any]:
    """``path`` may carry a query string; ``owner`` is the ``sub`` claim (None: no identity at all).

    ``headers`` replace the default ``Content-Type: application/json``; ``raw`` is a body of any bytes, passed
    base64-encoded as API Gateway passes a body that is not UTF-8 text.
    """
    parts = urlsplit(path)
    query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
    given = {"Content-Type": "application/json"} if headers is None else headers
    headers = {**given, **({"Origin": origin} if origin else {})}
    claims = {"sub": owner, "cognito:username": f"user-{owner}", "token_use": "id"} if owner else None
    return {
        "resource": resource or parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or parts.path,
            "httpMethod": method,
            "path": f"/{STAGE}{parts.path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1"},
            **({"authorizer": {"claims": claims}} if claims else {}),
        },
        "body": base64.b64encode(raw).decode() if raw is not None else _text(body),
        "isBase64Encoded": raw is not None,
    }


def _text(body: Any) -> str | None:
    return json.dumps(body) if body is not None and not isinstance(body, str) else body


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else ""


def call(handler: Any, event: dict[str, Any]) -> Answer:
    response = handler(event, LambdaContext())
    raw = response.get("body") or ""
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return Answer(status=int(response["statusCode"]), headers=headers, body=body)
