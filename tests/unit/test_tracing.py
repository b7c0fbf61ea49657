"""Our spans on Lambda's active tracing (shared/tracing.py): what reaches the X-Ray daemon, and what never does."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from image_pipeline.shared.tracing import HEADER, TraceHeader, Tracer, UdpSender, daemon_address

SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture(autouse=True)
def tracing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in AWS: the tests' environment turns tracing off (no daemon), these tests turn it on."""
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)


class Recording:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, document: dict[str, Any]) -> None:
        self.sent.append(json.loads(json.dumps(document)))


def test_the_trace_header_and_the_daemon_address_are_read_as_lambda_writes_them() -> None:
    assert TraceHeader.parse(SAMPLED) == TraceHeader("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True)
    assert TraceHeader.parse("Root=1-a;Parent=b;Sampled=0;Lineage=x") == TraceHeader("1-a", "b", False)
    assert TraceHeader.parse("Root=1-a") is None
    assert TraceHeader.parse(None) is None
    assert daemon_address("169.254.79.129:2000") == ("169.254.79.129", 2000)
    assert daemon_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001") == ("127.0.0.2", 2001)
    assert daemon_address("") is None


def test_a_sampled_invocation_sends_one_subsegment_under_the_functions_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    daemon = Recording()
    tracer = Tracer("image-api", sender=daemon)

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 201, "body": json.dumps({"secret": "whsec_TOPSECRET"})}

    handler({"body": "whsec_INEVENT"}, None)
    handler({}, None)
    first, second = daemon.sent
    assert first["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert first["parent_id"] == "53995c3f42cd8ad8"
    assert (first["type"], first["name"]) == ("subsegment", "## handler")
    assert first["start_time"] <= first["end_time"]
    assert first["annotations"] == {"ColdStart": True, "Service": "image-api"}
    assert second["annotations"]["ColdStart"] is False
    # Neither the event nor the answer is recorded
    assert "whsec_" not in json.dumps(daemon.sent)


def test_a_failure_records_the_exceptions_type_but_not_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    daemon = Recording()
    tracer = Tracer("worker", sender=daemon)

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> None:
        raise ValueError("token whsec_INMESSAGE")

    with pytest.raises(ValueError, match="INMESSAGE"):
        handler({}, None)
    [failed] = daemon.sent
    assert failed["fault"] is True
    assert failed["cause"]["exceptions"][0]["type"] == "ValueError"
    assert "INMESSAGE" not in json.dumps(failed)


@pytest.mark.parametrize("header", [None, "Root=1-a;Parent=b;Sampled=0", "disabled"])
def test_an_invocation_that_is_not_sampled_sends_nothing(monkeypatch: pytest.MonkeyPatch, header: str | None) -> None:
    if header == "disabled":  # the local mode: no daemon
        monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    elif header is None:
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    else:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    daemon = Recording()
    tracer = Tracer("worker", sender=daemon)
    assert tracer.capture_lambda_handler(lambda event, context: 7)({}, None) == 7
    assert daemon.sent == []


def test_the_udp_sender_speaks_the_daemons_format() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(5)
        UdpSender(daemon.getsockname()).send({"name": "## handler", "id": "0123456789abcdef"})
        datagram = daemon.recv(65536)
    assert datagram.startswith(HEADER)
    assert json.loads(datagram[len(HEADER) :]) == {"name": "## handler", "id": "0123456789abcdef"}


def test_aws_calls_of_a_sampled_invocation_are_subsegments_of_its_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.stub import Stubber

    monkeypatch.setenv("_X_AMZN_TRACE_ID", SAMPLED)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    boto3.setup_default_session(region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    daemon = Recording()
    tracer = Tracer("worker", sender=daemon)

    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> None:
        client = boto3.client("sqs")  # built on the first invocation, as the composition roots do
        with Stubber(client) as stub:
            stub.add_response("get_queue_url", {"QueueUrl": "https://q"}, {"QueueName": "q"})
            client.get_queue_url(QueueName="q")

    handler({}, None)
    call, invocation = daemon.sent
    assert call["parent_id"] == invocation["id"]
    assert (call["namespace"], call["name"], call["aws"]["operation"]) == ("aws", "SQS", "GetQueueUrl")
    boto3.DEFAULT_SESSION = None
