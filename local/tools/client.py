"""A small client of the deployed (or local) app, driven only by a ``cdk deploy --outputs-file`` file.

Used by ``make demo``, the latency bench and the e2e tests. Signs in with Cognito's
USER_PASSWORD_AUTH, calls the REST API with the ID token, uploads through the presigned POST.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

TERMINAL = ("COMPLETED", "FAILED")


def find_output(outputs: dict[str, Any], key: str) -> Any:
    found = [values[key] for values in outputs.values() if isinstance(values, dict) and key in values]
    if len(found) != 1:
        raise KeyError(f"output {key}: found in {len(found)} stacks")
    return found[0]


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http(
    method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 60
) -> HttpReply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return HttpReply(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return HttpReply(error.code, dict(error.headers.items()), error.read())


def multipart(fields: dict[str, str], file_bytes: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body: every field first, then ``file`` (S3 ignores fields after the file)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + file_bytes
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class AppClient:
    def __init__(self, outputs: dict[str, Any], username: str | None = None, password: str | None = None) -> None:
        self.outputs = outputs
        local = outputs.get("Local", {})
        self.api_url = str(find_output(outputs, "ApiUrl"))
        self._endpoint = local.get("AwsEndpointUrl")
        # A deployment's outputs name no region: a user pool id starts with its own (eu-west-1_AbC123).
        self._region = local.get("Region") or str(find_output(outputs, "UserPoolId")).split("_", 1)[0]
        self._username = username or local.get("DemoUsername")
        self._password = password or local.get("DemoPassword")
        self._token: str | None = None

    @classmethod
    def from_file(cls, path: Path, username: str | None = None, password: str | None = None) -> AppClient:
        return cls(json.loads(path.read_text()), username, password)

    def cognito(self) -> Any:
        if self._endpoint:
            return boto3.client(
                "cognito-idp",
                endpoint_url=self._endpoint,
                region_name=self._region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return boto3.client("cognito-idp", region_name=self._region)

    def tokens(self) -> dict[str, Any]:
        """Cognito's AuthenticationResult for the user (USER_PASSWORD_AUTH): IdToken, AccessToken, ..."""
        answer = self.cognito().initiate_auth(
            ClientId=find_output(self.outputs, "UserPoolClientId"),
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self._username, "PASSWORD": self._password},
        )
        return dict(answer["AuthenticationResult"])

    def sign_in(self) -> str:
        self._token = str(self.tokens()["IdToken"])
        return self._token

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> HttpReply:
        headers = {"Content-Type": "application/json"}
        bearer = token if token is not None else (self._token or self.sign_in())
        if bearer:
            headers["Authorization"] = bearer
        payload = None if body is None else json.dumps(body).encode()
        return http(method, self.api_url + path.lstrip("/"), body=payload, headers=headers)

    def create_upload(self, filename: str, content_type: str, features: list[str] | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"filename": filename, "contentType": content_type}
        if features:
            request["features"] = features
        answer = self.call("POST", "images", request)
        if answer.status != 201:
            raise RuntimeError(f"POST /images: {answer.status} {answer.body[:300]!r}")
        return dict(answer.json())

    @staticmethod
    def post_file(ticket: dict[str, Any], data: bytes, content_type: str) -> HttpReply:
        body, form_type = multipart(ticket["upload"]["fields"], data, content_type)
        return http("POST", ticket["upload"]["url"], body=body, headers={"Content-Type": form_type})

    def upload(self, filename: str, data: bytes, content_type: str, features: list[str] | None = None) -> str:
        """Create the image, upload its bytes; returns the image id."""
        ticket = self.create_upload(filename, content_type, features)
        answer = self.post_file(ticket, data, content_type)
        if answer.status >= 300:
            raise RuntimeError(f"upload refused: {answer.status} {answer.body[:300]!r}")
        return str(ticket["imageId"])

    def wait_for(self, image_id: str, timeout: float = 120, interval: float = 0.25) -> dict[str, Any]:
        """Poll GET /images/{id} until COMPLETED or FAILED."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.call("GET", f"images/{image_id}")
            document = answer.json() if answer.status == 200 else None
            if document and document.get("status") in TERMINAL:
                return dict(document)
            if time.monotonic() > deadline:
                raise TimeoutError(f"image {image_id} still {document and document.get('status')} ({answer.status})")
            time.sleep(interval)
