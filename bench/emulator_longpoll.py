"""Other requests' latency in the local mode's AWS emulator while clients long-poll SQS.

    .venv/bin/python -m bench.emulator_longpoll [--requests 300] [--pollers 4]

Starts the emulator (moto behind local.emulator's lock) on 127.0.0.1 with an ephemeral port, then
times the same mix of requests (SQS SendMessage, ReceiveMessage without waiting, DynamoDB PutItem) twice:
with no other client, and with ``pollers`` clients each long-polling its own empty queue with
``WaitTimeSeconds=20``. Prints p50 and p99 side by side. Bounded: the pollers are released with one
message each when the second measurement ends. Figures depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from typing import Any

import boto3

from local.emulator import SerialisedMotoServer

REGION = "us-east-1"


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench"
    )


def measure(sqs: Any, dynamodb: Any, queue_url: str, count: int) -> list[float]:
    """Milliseconds per request of the mix, ``count`` requests in a row."""
    timings = []
    for index in range(count):
        started = time.perf_counter()
        if index % 3 == 0:
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{index}")
        elif index % 3 == 1:
            sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
        else:
            dynamodb.put_item(TableName="bench", Item={"pk": {"S": f"k{index}"}})
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pollers", type=int, default=4)
    args = parser.parse_args(argv)

    server = SerialisedMotoServer("127.0.0.1", 0)
    server.start()
    try:
        endpoint = server.url
        sqs, dynamodb = client("sqs", endpoint), client("dynamodb", endpoint)
        work = sqs.create_queue(QueueName="work")["QueueUrl"]
        dynamodb.create_table(
            TableName="bench",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        measure(sqs, dynamodb, work, 30)  # warm-up: clients, moto's first-call costs
        alone = measure(sqs, dynamodb, work, args.requests)

        idle = [sqs.create_queue(QueueName=f"idle-{n}")["QueueUrl"] for n in range(args.pollers)]
        stop = threading.Event()
        polls = [0] * args.pollers

        def poll(number: int) -> None:
            own = client("sqs", endpoint)
            while not stop.is_set():
                own.receive_message(QueueUrl=idle[number], WaitTimeSeconds=20)
                polls[number] += 1

        pollers = [threading.Thread(target=poll, args=(n,), daemon=True) for n in range(args.pollers)]
        for thread in pollers:
            thread.start()
        time.sleep(1)  # every poller inside its 20 s wait
        beside = measure(sqs, dynamodb, work, args.requests)
        stop.set()
        for url in idle:
            sqs.send_message(QueueUrl=url, MessageBody="stop")
        for thread in pollers:
            thread.join(25)
    finally:
        server.stop()

    print(f"{args.requests} requests (SendMessage, ReceiveMessage without wait, PutItem), milliseconds")
    print("| other clients long-polling (WaitTimeSeconds=20) | p50 | p99 | max |")
    print("|---|---|---|---|")
    for label, timings in (("0", alone), (str(args.pollers), beside)):
        print(f"| {label} | {statistics.median(timings):.1f} | {percentile(timings, 0.99):.1f} | {max(timings):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
