"""An in-memory stand-in for the KMS seal of signing secrets: reversible, and bound to its context like KMS's."""

from __future__ import annotations

from image_pipeline.webhooks.domain.secrets import SecretContext


class FakeSeal:
    def __init__(self) -> None:
        self.opened = 0

    def seal(self, secret: str, context: SecretContext) -> str:
        return f"sealed|{context.webhook_id}|{context.owner}|{secret[::-1]}"

    def open(self, sealed: str, context: SecretContext) -> str:
        tag, webhook_id, owner, reversed_secret = sealed.split("|")
        if (tag, webhook_id, owner) != ("sealed", context.webhook_id, context.owner):
            raise ValueError("the seal's context does not match")
        self.opened += 1
        return reversed_secret[::-1]
