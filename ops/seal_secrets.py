"""``make seal-secrets``: seals the webhook signing secrets still stored plain, in place.

    make seal-secrets ENV=prod                            # reads cdk-outputs-prod.json (make deploy writes it)
    make seal-secrets OUTPUTS=.local/cdk-outputs.json     # the local mode

Subscriptions created before secrets were sealed with the webhook secrets key hold a plain ``value``. The
dispatcher still signs with those (receivers notice nothing), but a scan of the table, a backup or an export
would give them away. Run this once after the deploy that brings the key: it reads every subscription (a
scan), encrypts each plain secret with the key and the webhook's encryption context, and writes the item
back with one conditional write (a rotation landing in between is never overwritten). It needs
``dynamodb:Scan``/``GetItem``/``UpdateItem`` on the table and ``kms:Encrypt`` on the key, which the key policy
leaves to the account's IAM policies (an administrator has it); nobody but the dispatcher can decrypt.
Running it again finds nothing to do.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from image_pipeline.webhooks.adapters.kms_secrets import KmsSecrets
from image_pipeline.webhooks.adapters.webhooks_table import WebhookStore
from image_pipeline.webhooks.domain.secrets import seal_plain_secrets
from ops.deployment import client_for, output_value
from stacks import outputs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outputs", type=Path, required=True, help="cdk deploy --outputs-file, or the local mode's")
    arguments = parser.parse_args(argv)
    document = json.loads(arguments.outputs.read_text())
    store = WebhookStore(client_for(document, "dynamodb"), output_value(document, outputs.WEBHOOKS_TABLE_NAME))
    sealer = KmsSecrets(client_for(document, "kms"), output_value(document, outputs.WEBHOOK_SECRETS_KEY_ARN))
    report = seal_plain_secrets(store, sealer)
    print(
        f"read {report.subscriptions} webhook(s): sealed {report.secrets} plain secret(s) of {report.sealed}; "
        f"{report.subscriptions - report.sealed} had none"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
