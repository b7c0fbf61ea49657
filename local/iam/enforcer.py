"""IAM in front of moto: a request signed with an assumed role's credentials is authorised against that role.

moto issues the credentials (``sts:AssumeRole``) and keeps the roles and their policies (created by
local/provisioners/iam.py from the templates); this middleware reads both from moto's backends, which run
in this process, and evaluates each action of the request with local.iam.policy. A denied request is
answered as the service answers it (``AccessDenied``, ``AccessDeniedException``, ``AuthorizationError``)
and never reaches moto. Requests signed with any other key (the provisioner, the local tools, the tests,
the pollers of SNS -> Lambda bridges) are the account administrator's and pass unchecked, as does an
unsigned request. moto's own enforcement (``INITIAL_NO_AUTH_ACTION_COUNT``) stays off: it is global, checks
no resource for DynamoDB or SNS and fails every statement that has a condition.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request as WsgiRequest

from local.iam.policy import Decision, evaluate, statements_of
from local.iam.requests import Call, caller_of, describe, s3_bucket_and_key

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ACCOUNT = "123456789012"  # moto's default account, the one the local mode provisions into
_PARTITION = "aws"


@dataclass(frozen=True)
class Session:
    """Credentials moto issued for a role (``sts:AssumeRole``)."""

    arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>
    role_arn: str
    secret_access_key: str
    session_token: str


def session_of(access_key: str, account: str = ACCOUNT) -> Session | None:
    for assumed in sts_backends[account][_PARTITION].assumed_roles:
        if assumed.access_key_id == access_key:
            return Session(assumed.arn, assumed.role_arn, assumed.secret_access_key, assumed.session_token)
    return None


def role_policies(role_arn: str, account: str = ACCOUNT) -> list[str]:
    """The role's policy documents in moto: inline (``AWS::IAM::Policy``, ``Policies``) and attached managed."""
    role = iam_backends[account][_PARTITION].get_role_by_arn(role_arn)
    documents = [str(document) for document in role.policies.values()]
    for managed in role.managed_policies.values():
        documents.extend(str(v.document) for v in managed.versions if v.is_default)
    return documents


class SigningSecrets(Mapping[str, str]):
    """Access key -> secret key, for the presigned POST check: fixed keys and every session moto issued."""

    def __init__(self, fixed: Mapping[str, str], account: str = ACCOUNT) -> None:
        self._fixed = dict(fixed)
        self._account = account

    def __getitem__(self, access_key: str) -> str:
        if access_key in self._fixed:
            return self._fixed[access_key]
        session = session_of(access_key, self._account)
        if session is None:
            raise KeyError(access_key)
        return session.secret_access_key

    def __iter__(self) -> Iterator[str]:
        return iter(self._fixed)

    def __len__(self) -> int:
        return len(self._fixed)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


def authorise(call: Call, account: str = ACCOUNT) -> Refusal | None:
    """None when every action of the call is allowed for its caller (or the caller is not a role session)."""
    session = session_of(call.caller.access_key, account)
    if session is None:
        return None
    if call.caller.session_token != session.session_token:
        return Refusal(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    statements = statements_of(role_policies(session.role_arn, account))
    for request in call.requests:
        decision = evaluate(statements, request)
        if decision is not Decision.ALLOW:
            why = (
                "with an explicit deny in an identity-based policy"
                if decision is Decision.EXPLICIT_DENY
                else f"because no identity-based policy allows the {request.action} action"
            )
            code = "AuthorizationError" if call.caller.service == "sns" else "AccessDenied"
            message = (
                f"User: {session.arn} is not authorized to perform: {request.action} on resource: "
                f"{request.resource} {why}"
            )
            return Refusal(403, code, message)
    return None


def _answer(
    start_response: Callable[..., Any], environ: Mapping[str, Any], service: str, refusal: Refusal
) -> list[bytes]:
    headers = [("Access-Control-Allow-Origin", "*")]
    status = refusal.status
    if environ.get("HTTP_X_AMZ_TARGET"):  # JSON protocol
        status = 400 if service == "dynamodb" else status
        code = refusal.code if refusal.code == "InvalidClientTokenId" else "AccessDeniedException"
        body = json.dumps({"__type": code, "message": refusal.message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
        if service == "sqs":  # a query-compatible JSON service: its error codes are the query protocol's
            headers.append(("x-amzn-query-error", f"{refusal.code};Sender"))
    elif service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    else:  # query protocol
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message></Error>"
            "<RequestId>local-iam</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {'Bad Request' if status == 400 else 'Forbidden'}", headers)
    return [body]


def _post_form(environ: dict[str, Any], body: bytes) -> dict[str, str] | None:
    """The fields of a presigned POST upload (``POST /<bucket>``, multipart), else None."""
    content_type = environ.get("CONTENT_TYPE", "")
    if environ.get("REQUEST_METHOD") != "POST" or not content_type.startswith("multipart/"):
        return None
    bucket, key = s3_bucket_and_key(environ)
    if not bucket or key.strip("/"):
        return None
    replay = dict(environ)
    replay["wsgi.input"] = io.BytesIO(body)
    _, form, _ = parse_form_data(replay)
    return {name.lower(): value for name, value in form.items()}


def enforce_iam(app: WsgiApp, account: str = ACCOUNT) -> WsgiApp:
    """Wrap moto's WSGI app (under the emulator's lock: moto's backends are read here)."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        caller = caller_of(environ)
        is_post = environ.get("REQUEST_METHOD") == "POST" and caller is None
        if caller is not None and session_of(caller.access_key, account) is None:
            return app(environ, start_response)  # the administrator
        if caller is None and not is_post:
            return app(environ, start_response)
        body = WsgiRequest(environ).get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(body)
        form = _post_form(environ, body) if caller is None else None
        call = describe(environ, body, account, form)
        environ["wsgi.input"] = io.BytesIO(body)
        refusal = authorise(call, account) if call is not None else None
        if refusal is not None:
            return _answer(start_response, environ, call.caller.service if call else "", refusal)
        return app(environ, start_response)

    return application
