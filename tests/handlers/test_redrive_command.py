"""`make redrive`: the dead-letter queue's jobs go back to the dispatch queue with a fresh retry window."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from image_pipeline.webhooks.domain.model import DeliveryJob
from ops.redrive_webhooks import main


def test_make_redrive_moves_dead_letters_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="dispatch")["QueueUrl"]
        dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
        # Given an exhausted delivery job and an event whose fan-out failed, both in the DLQ
        job = DeliveryJob("wh_1", "msg_1", "DELIVERY#t#msg_1", "image.analyzed", '{"a":1}', 1000.0, 12, 2000.0)
        sqs.send_message(QueueUrl=dead, MessageBody=job.to_message())
        sqs.send_message(QueueUrl=dead, MessageBody=json.dumps({"id": "e1", "type": "image.analyzed", "data": {}}))
        outputs = tmp_path / "cdk-outputs-dev.json"
        outputs.write_text(
            json.dumps(
                {
                    "ImagePipeline-dev-Integration": {
                        "WebhookDispatchQueueUrl": queue,
                        "WebhookDeadLetterQueueUrl": dead,
                    },
                    "ImagePipeline-dev-Data": {"WebhooksTableName": "webhooks"},
                }
            )
        )
        # When the operator runs make redrive
        assert main(["--outputs", str(outputs)]) == 0
        # Then both are back in the dispatch queue; the job starts over as attempt 1, same id and body
        bodies = [
            json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        ]
        [replayed] = [DeliveryJob.from_message(b) for b in bodies if b.get("kind")]
        assert (replayed.message_id, replayed.body, replayed.attempt) == ("msg_1", '{"a":1}', 1)
        assert replayed.first_attempt_at > job.first_attempt_at
        assert [b["id"] for b in bodies if not b.get("kind")] == ["e1"]
        assert "Messages" not in sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=0)
        assert "redrove 2" in capsys.readouterr().out
