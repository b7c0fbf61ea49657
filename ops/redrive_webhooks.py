"""``make redrive``: moves what rests in the webhook dead-letter queue back to the dispatch queue.

    make redrive ENV=dev                                  # reads cdk-outputs-dev.json (make deploy writes it)
    make redrive OUTPUTS=.local/cdk-outputs.json          # the local mode (its endpoint is in the file)

A delivery job starts a fresh retry window with the same webhook-id and body, so receivers still dedupe.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from ops.deployment import client_for, output_value
from stacks import outputs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outputs", type=Path, required=True, help="cdk deploy --outputs-file, or the local mode's")
    parser.add_argument("--limit", type=int, default=10_000)
    arguments = parser.parse_args(argv)
    document = json.loads(arguments.outputs.read_text())
    queue = SqsJobQueue(
        client_for(document, "sqs"),
        output_value(document, outputs.WEBHOOK_DISPATCH_QUEUE_URL),
        output_value(document, outputs.WEBHOOK_DEAD_LETTER_QUEUE_URL),
    )
    moved = queue.redrive(time.time(), limit=arguments.limit)
    print(f"redrove {moved} message(s) from the webhook dead-letter queue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
