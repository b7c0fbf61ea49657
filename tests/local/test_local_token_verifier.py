"""The local gateway's Cognito authorizer: which tokens pass, checked as API Gateway checks them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource

from local.gateway.authorizer import TokenVerifier, Unauthorized
from local.gateway.routes import CognitoAuthorizer

REGION = "us-east-1"
POOL = "us-east-1_pool"
CLIENT = "client-1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
MOTO_KEY = load_resource("cognitoidp/resources/jwks-private.json")  # the key that ships inside moto
RUN_KEY = jwk.RSAKey.generate_key(2048, private=True)  # the local mode's own key (local.signing_key)
AUTHORIZER = CognitoAuthorizer(name="SignedIn", pool_ids=(POOL,), identity_header="Authorization")


def token(key: Any = RUN_KEY, **overrides: Any) -> str:
    claims = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": CLIENT,
        "token_use": "id",
        "exp": int(time.time()) + 3600,
        "email_verified": True,
        **overrides,
    }
    signing = key if isinstance(key, jwk.RSAKey) else jwk.RSAKey.import_key(key)
    return jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, signing)


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(jwk.RSAKey.import_key(RUN_KEY.as_dict(private=False)), REGION, {POOL: [CLIENT]})


def test_an_id_token_of_the_pool_passes_with_its_claims(verifier: TokenVerifier) -> None:
    claims = verifier.claims(token(), AUTHORIZER)
    assert (claims["sub"], claims["aud"]) == ("user-1", CLIENT)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 1}, "expired"),
        ({"token_use": "access"}, "ID token"),
        ({"aud": "someone-elses-client"}, "app client"),
        ({"iss": f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_other"}, "another user pool"),
        ({"iss": f"https://evil.example.com/{POOL}"}, "another user pool"),
    ],
)
def test_tokens_that_api_gateway_would_refuse_are_refused(
    verifier: TokenVerifier, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Unauthorized, match=reason):
        verifier.claims(token(**overrides), AUTHORIZER)


def test_a_token_signed_with_another_key_is_refused(verifier: TokenVerifier) -> None:
    forged = token(key=jwk.RSAKey.generate_key(2048, private=True).as_dict(private=True))
    with pytest.raises(Unauthorized, match="signature"):
        verifier.claims(forged, AUTHORIZER)


def test_a_token_minted_with_the_key_moto_ships_is_refused(verifier: TokenVerifier) -> None:
    # Given a token with every claim right, signed with the private key inside the moto package
    forged = token(key=MOTO_KEY)
    # When it reaches the authorizer / Then its signature does not verify: anyone could have made it
    with pytest.raises(Unauthorized, match="signature"):
        verifier.claims(forged, AUTHORIZER)


def test_a_tampered_token_is_refused(verifier: TokenVerifier) -> None:
    header, _, signature = token().split(".")
    _, payload, _ = token(sub="admin").split(".")
    with pytest.raises(Unauthorized, match="signature"):
        verifier.claims(f"{header}.{payload}.{signature}", AUTHORIZER)


def test_scoped_methods_want_an_access_token_with_one_of_their_scopes(verifier: TokenVerifier) -> None:
    access = token(token_use="access", scope="images/read openid", aud=None, client_id=CLIENT)
    assert verifier.claims(access, AUTHORIZER, scopes=("images/read",))["sub"] == "user-1"
    with pytest.raises(Unauthorized):
        verifier.claims(access, AUTHORIZER, scopes=("images/write",))
    with pytest.raises(Unauthorized):
        verifier.claims(token(), AUTHORIZER, scopes=("images/read",))


def test_garbage_is_refused(verifier: TokenVerifier) -> None:
    for value in ("", "not-a-jwt", "a.b.c"):
        with pytest.raises(Unauthorized):
            verifier.claims(value, AUTHORIZER)
