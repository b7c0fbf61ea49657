"""S3's checks of browser-based uploads (presigned POST), in front of moto, which stores them unchecked.

moto 5 accepts any multipart POST to a bucket: it verifies neither the signature nor the policy's
conditions. Real S3 refuses an upload whose policy has expired, whose signature does not match, whose form
has a field no condition covers, or whose fields or size break a condition. The local mode answers those
uploads the way S3 does, so what works locally works against AWS and what S3 refuses is refused here.
See https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response
from moto.s3.utils import bucket_name_from_url
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Form fields that no condition needs to cover.
EXEMPT = frozenset({"policy", "x-amz-signature", "file"})


class PolicyRefusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PostForm:
    bucket: str
    fields: dict[str, str]  # form fields, names lower-case, the file excluded
    size: int


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_signature(fields: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise PolicyRefusal(400, "InvalidArgument", "only AWS4-HMAC-SHA256 signed POST uploads are accepted")
    try:
        access_key, date, region, service, _ = fields["x-amz-credential"].split("/")
    except (KeyError, ValueError):
        raise PolicyRefusal(400, "InvalidArgument", "x-amz-credential is missing or malformed") from None
    secret = secrets.get(access_key)
    if secret is None:
        raise PolicyRefusal(403, "InvalidAccessKeyId", "the access key is not known to the emulator")
    expected = hmac.new(
        _signing_key(secret, date, region, service), fields["policy"].encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        raise PolicyRefusal(403, "SignatureDoesNotMatch", "the request signature does not match the policy")


def _policy_failed(condition: Any) -> PolicyRefusal:
    return PolicyRefusal(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}")


def _field_value(upload: PostForm, name: str) -> str:
    name = name.lower().removeprefix("$")
    return upload.bucket if name == "bucket" else upload.fields.get(name, "")


def check(upload: PostForm, secrets: Mapping[str, str], now: datetime) -> None:
    """Raise PolicyRefusal as S3 would; return when S3 would store the upload."""
    if "policy" not in upload.fields:
        raise PolicyRefusal(403, "AccessDenied", "anonymous POST uploads are not allowed on this bucket")
    _check_signature(upload.fields, secrets)
    try:
        policy = json.loads(base64.b64decode(upload.fields["policy"], validate=True))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise PolicyRefusal(400, "InvalidPolicyDocument", "the policy is not a valid policy document") from None
    if expiration <= now:
        raise PolicyRefusal(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    covered: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            covered.add(name.lower())
            if _field_value(upload, name) != expected:
                raise _policy_failed(["eq", f"${name}", expected])
        elif condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if upload.size > high:
                raise PolicyRefusal(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if upload.size < low:
                raise PolicyRefusal(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum size")
        elif condition[0] in ("eq", "starts-with"):
            operator, name, expected = condition
            covered.add(name.lower().removeprefix("$"))
            value = _field_value(upload, name)
            if (operator == "eq" and value != expected) or (
                operator == "starts-with" and not value.startswith(expected)
            ):
                raise _policy_failed(condition)
        else:
            raise PolicyRefusal(400, "InvalidPolicyDocument", f"unknown condition {condition}")
    extra = sorted(
        name
        for name in upload.fields
        if name not in covered and name not in EXEMPT and not name.startswith("x-ignore-")
    )
    if extra:
        raise PolicyRefusal(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def _bucket_of(environ: dict[str, Any]) -> str | None:
    """The bucket of a POST to the bucket itself, in either addressing style, decided as moto decides it:
    path style (``POST /<bucket>`` or ``/<bucket>/``) or virtual-hosted style (``Host: <bucket>.s3.amazonaws.com``
    or ``<bucket>.localhost``, ``POST /``)."""
    parts = [part for part in environ.get("PATH_INFO", "").split("/") if part]
    request = Request(environ)
    if S3Response.subdomain_based_buckets(request):
        return bucket_name_from_url(request.url) if not parts else None
    return parts[0] if len(parts) == 1 else None


def _error(start_response: Callable[..., Any], refusal: PolicyRefusal) -> Iterable[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message></Error>"
    ).encode()
    start_response(
        f"{refusal.status} {'Forbidden' if refusal.status == 403 else 'Bad Request'}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("Access-Control-Allow-Origin", "*"),
        ],
    )
    return [body]


def enforce_post_policies(app: WsgiApp, secrets: Mapping[str, str]) -> WsgiApp:
    """Wrap moto's WSGI app: multipart POSTs to a bucket are checked first, everything else passes."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        bucket = _bucket_of(environ)
        if environ.get("REQUEST_METHOD") != "POST" or bucket is None or not content_type.startswith("multipart/"):
            return app(environ, start_response)
        body = Request(environ).get_data(cache=True)
        replay = dict(environ)
        replay["wsgi.input"] = io.BytesIO(body)
        _, form, files = parse_form_data(dict(replay))
        upload_file = files.get("file")
        upload = PostForm(
            bucket=bucket,
            fields={name.lower(): value for name, value in form.items()},
            size=len(upload_file.read()) if upload_file else 0,
        )
        try:
            check(upload, secrets, datetime.now(UTC))
        except PolicyRefusal as refusal:
            return _error(start_response, refusal)
        replay["wsgi.input"] = io.BytesIO(body)
        return app(replay, start_response)

    return application
