"""Cognito tokens checked the way API Gateway's Cognito authorizer checks them: signature against the
user pool's JWKS, then issuer, audience (an app client of the pool), expiry and ``token_use``."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet

from local.gateway.routes import CognitoAuthorizer


class Unauthorized(Exception):
    pass


class TokenVerifier:
    """Cognito tokens checked the way API Gateway's Cognito authorizer checks them."""

    def __init__(self, endpoint: str, region: str, clients: dict[str, list[str]]) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._region = region
        self._clients = clients
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def _key_set(self, pool_id: str) -> KeySet:
        with self._lock:
            if pool_id not in self._keys:
                with urllib.request.urlopen(f"{self._endpoint}/{pool_id}/.well-known/jwks.json", timeout=10) as r:
                    self._keys[pool_id] = KeySet.import_key_set(json.loads(r.read()))
            return self._keys[pool_id]

    def claims(self, token: str, authorizer: CognitoAuthorizer, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        try:
            unverified = json.loads(_b64(token.split(".")[1]))
        except (IndexError, ValueError) as error:
            raise Unauthorized("not a JWT") from error
        issuer = str(unverified.get("iss", ""))
        pool_id = issuer.rsplit("/", 1)[-1]
        if (
            pool_id not in authorizer.pool_ids
            or issuer != f"https://cognito-idp.{self._region}.amazonaws.com/{pool_id}"
        ):
            raise Unauthorized("issued by another user pool")
        try:
            claims: dict[str, Any] = jwt.decode(token, self._key_set(pool_id), algorithms=["RS256"]).claims
        except Exception as error:
            raise Unauthorized(f"bad signature: {error}") from error
        if float(claims.get("exp", 0)) <= time.time():
            raise Unauthorized("The incoming token has expired")
        if scopes:
            granted = set(str(claims.get("scope", "")).split())
            if claims.get("token_use") != "access" or not granted & set(scopes):
                raise Unauthorized("an access token with one of the method's scopes is needed")
            return claims
        if claims.get("token_use") != "id":
            raise Unauthorized("an ID token is needed")
        if claims.get("aud") not in self._clients.get(pool_id, []):
            raise Unauthorized("issued to another app client")
        return claims


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
