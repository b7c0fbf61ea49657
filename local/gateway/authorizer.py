"""Cognito tokens checked the way API Gateway's Cognito authorizer checks them: signature against the
run's own signing key (local.signing_key), then issuer, audience (an app client of the pool), expiry and
``token_use``."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from local.gateway.routes import CognitoAuthorizer


class Unauthorized(Exception):
    pass


class TokenVerifier:
    """Cognito tokens checked the way API Gateway's Cognito authorizer checks them, the signature against
    ``key``: the run's own key (local.signing_key), never the key moto ships (anyone could sign with it)."""

    def __init__(self, key: RSAKey, region: str, clients: dict[str, list[str]]) -> None:
        self._key = key
        self._region = region
        self._clients = clients

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
            claims: dict[str, Any] = jwt.decode(token, self._key, algorithms=["RS256"]).claims
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
