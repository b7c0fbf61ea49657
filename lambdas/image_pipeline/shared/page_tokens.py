"""Opaque page tokens: a listing's next start key, valid only for the listing (scope) that issued it."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from image_pipeline.shared.errors import InvalidRequest


def encode_token(key: dict[str, Any], scope: str) -> str:
    raw = json.dumps({"scope": scope, "key": key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, scope: str) -> dict[str, Any]:
    """The key a token carries, refused when it was made for another listing (or another owner)."""
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise InvalidRequest("nextToken is not a token this API issued") from None
    if not isinstance(decoded, dict) or decoded.get("scope") != scope or not isinstance(decoded.get("key"), dict):
        raise InvalidRequest("nextToken belongs to a different listing; repeat the query without it")
    return dict(decoded["key"])
