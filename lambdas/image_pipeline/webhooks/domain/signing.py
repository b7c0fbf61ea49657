"""Standard Webhooks signatures: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under a ``whsec_`` secret.

https://www.standardwebhooks.com/ - the ``standardwebhooks`` package verifies what this module signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24..64 random bytes
SIGNATURE_VERSION = "v1"
_MESSAGE_NAMESPACE = uuid.UUID("0b3e1c55-6a52-4c8e-8f1d-2d7c9a41f0a7")


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (unpadded base64 is accepted, as the reference libraries do)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    if not key:
        raise ValueError("empty webhook secret")
    return key


def is_valid_secret(secret: str) -> bool:
    try:
        return secret.startswith(SECRET_PREFIX) and len(secret_key(secret)) >= 16
    except ValueError:
        return False


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(secrets_in_use: Iterable[str], message_id: str, timestamp: int, body: str) -> str:
    """One signature per secret still in use (during a rotation both sign), space-separated."""
    signatures = [sign(secret, message_id, timestamp, body) for secret in secrets_in_use]
    if not signatures:
        raise ValueError("no secret to sign with")
    return " ".join(signatures)


def message_id(event_id: str, webhook_id: str) -> str:
    """``webhook-id``: stable for one event and one endpoint, so receivers can dedupe retries."""
    return "msg_" + uuid.uuid5(_MESSAGE_NAMESPACE, f"{event_id}|{webhook_id}").hex


def webhook_headers(secrets_in_use: Iterable[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_in_use, message_id, timestamp, body),
    }
