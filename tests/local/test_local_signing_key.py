"""Tokens the local gateway can tell from forged ones: the run's own signing key, and loopback unless asked."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource

from local.__main__ import parse
from local.app import LocalMode, Options, RemoteRefused
from local.console import Console
from local.emulator import SerialisedMotoServer
from local.functions.runtime import InvokeResult
from local.gateway.authorizer import TokenVerifier
from local.gateway.routes import CognitoAuthorizer, GatewayApi, GatewayRoute
from local.gateway.server import Gateway
from local.signing_key import RunSigningKey

REGION = "us-east-1"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:api"
INTEGRATION = {
    "Type": "AWS_PROXY",
    "Uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations",
}
PASSWORD = "Correct-horse-1"


class Echo:
    def by_arn(self, arn: str) -> Echo:
        return self

    def invoke(self, event: dict[str, Any]) -> InvokeResult:
        claims = event["requestContext"]["authorizer"]["claims"]
        return InvokeResult(payload={"statusCode": 200, "body": json.dumps({"user": claims["cognito:username"]})})


@pytest.fixture(scope="module")
def cognito() -> Iterator[tuple[Any, str, str]]:
    """moto in this process, as the local mode runs it, with a pool, an app client and a user."""
    server = SerialisedMotoServer()
    server.start()
    try:
        client = boto3.client(
            "cognito-idp", endpoint_url=server.url, region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b"
        )
        pool = client.create_user_pool(PoolName="people")["UserPool"]["Id"]
        app = client.create_user_pool_client(
            UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        client.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
        client.admin_set_user_password(UserPoolId=pool, Username="alice", Password=PASSWORD, Permanent=True)
        yield client, pool, app
    finally:
        server.stop()


def sign_in(client: Any, app: str) -> str:
    answer = client.initiate_auth(
        ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD}
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def gateway_for(pool: str, app: str, key: RunSigningKey) -> Gateway:
    gateway = Gateway("127.0.0.1", 0, Console(io.StringIO()))
    signed_in = CognitoAuthorizer("SignedIn", (pool,), "Authorization")
    gateway._api = GatewayApi(routes=[GatewayRoute("api1", "v1", "/me", "GET", "res-1", INTEGRATION, signed_in)])
    gateway._runtime = Echo()  # type: ignore[assignment]
    gateway._verifier = TokenVerifier(key.public, REGION, {pool: [app]})
    return gateway


def test_a_real_sign_in_passes_and_a_token_minted_with_motos_key_is_refused(cognito: tuple[Any, str, str]) -> None:
    client, pool, app = cognito
    # Given the run's own key adopted by the user pool, and the gateway verifying with it
    key = RunSigningKey()
    key.adopt([pool], REGION)
    gateway = gateway_for(pool, app, key)
    try:
        # When alice signs in for real, Then her ID token opens the API
        real = sign_in(client, app)
        answer = gateway.handle("GET", "/v1/me", [("Authorization", real)], b"", "127.0.0.1")
        assert (answer.status, json.loads(answer.body)) == (200, {"user": "alice"})
        # When someone mints a token with the same claims and the private key that ships inside moto
        claims = jwt.decode(real, key.public).claims
        forged = jwt.encode(
            {"kid": "dummy", "alg": "RS256"},
            {**claims, "cognito:username": "mallory", "exp": int(time.time()) + 3600},
            jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json")),
        )
        # Then the gateway refuses it before the function runs
        refused = gateway.handle("GET", "/v1/me", [("Authorization", forged)], b"", "127.0.0.1")
        assert refused.status == 401
    finally:
        gateway.close()


def test_a_key_of_another_run_is_refused(cognito: tuple[Any, str, str]) -> None:
    client, pool, app = cognito
    # Given a token signed in an earlier run (with that run's key)
    earlier = RunSigningKey()
    earlier.adopt([pool], REGION)
    token = sign_in(client, app)
    # When this run adopts its own key, Then the earlier token no longer opens the API
    key = RunSigningKey()
    key.adopt([pool], REGION)
    gateway = gateway_for(pool, app, key)
    try:
        assert gateway.handle("GET", "/v1/me", [("Authorization", token)], b"", "127.0.0.1").status == 401
    finally:
        gateway.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.org"])
def test_a_non_loopback_address_needs_allow_remote(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    # When the local mode is asked to serve beyond loopback without the flag, Then it refuses to start
    with pytest.raises(SystemExit):
        parse(["--host", host])
    assert "--allow-remote" in capsys.readouterr().err
    with pytest.raises(RemoteRefused):
        LocalMode(Options(host=host), Console(io.StringIO())).start()  # refused before anything is bound
    # And with the flag it is taken as asked
    assert parse(["--host", host, "--allow-remote"]).allow_remote


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_need_no_flag(host: str) -> None:
    assert parse(["--host", host]).host == host
