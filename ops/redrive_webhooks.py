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
from typing import Any

import boto3

from image_pipeline.webhooks.adapters.sqs_jobs import SqsJobQueue
from stacks import outputs


def output_value(document: dict[str, Any], key: str) -> str:
    """A stack output found by its key across stacks (stack names differ per environment)."""
    for values in document.values():
        if isinstance(values, dict) and key in values:
            return str(values[key])
    raise KeyError(f"no output {key} in the outputs file")


def client_for(document: dict[str, Any], service: str) -> Any:
    """A client for the deployment the outputs file describes: the local mode's emulator (its endpoint is in
    the file; it takes any credentials), or AWS with the caller's profile."""
    local = document.get("Local")
    if not local:
        return boto3.client(service)
    return boto3.client(
        service,
        endpoint_url=local["AwsEndpointUrl"],
        region_name=local.get("Region", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


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
