"""Signing secrets sealed with the webhook secrets KMS key, bound to their webhook by the encryption context.

The API function may only encrypt and the dispatcher only decrypt (stacks/constructs/webhook_secrets_key.py).
Opened secrets are kept in the dispatcher's memory, keyed by their ciphertext, so a warm function does not
call KMS for every attempt.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from image_pipeline.webhooks.domain.secrets import SecretContext

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

# The encryption context's keys; the key's policies require exactly these (see the construct).
CONTEXT_KEYS = ("webhookId", "owner")
_CACHE_SIZE = 512


def encryption_context(context: SecretContext) -> dict[str, str]:
    return dict(zip(CONTEXT_KEYS, (context.webhook_id, context.owner), strict=True))


class KmsSecrets:
    def __init__(self, client: KMSClient, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id
        self._opened: OrderedDict[tuple[str, SecretContext], str] = OrderedDict()
        self._lock = threading.Lock()

    def seal(self, secret: str, context: SecretContext) -> str:
        blob = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=encryption_context(context)
        )["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def open(self, sealed: str, context: SecretContext) -> str:
        with self._lock:
            cached = self._opened.get((sealed, context))
        if cached is not None:
            return cached
        plain = self._kms.decrypt(
            KeyId=self._key_id, CiphertextBlob=base64.b64decode(sealed), EncryptionContext=encryption_context(context)
        )["Plaintext"].decode()
        with self._lock:
            self._opened[(sealed, context)] = plain
            while len(self._opened) > _CACHE_SIZE:
                self._opened.popitem(last=False)
        return plain
