"""Reads one secret's current value from Secrets Manager."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class SecretValue:
    def __init__(self, client: SecretsManagerClient, secret_id: str) -> None:
        self._client = client
        self._secret_id = secret_id

    def read(self) -> str:
        return str(self._client.get_secret_value(SecretId=self._secret_id)["SecretString"])
