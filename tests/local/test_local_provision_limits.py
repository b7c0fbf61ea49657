"""The provisioner refuses what the templates declare but the local mode would run differently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from local.cfn.assembly import Assembly, Stack
from local.provisioners import Provisioned, ProvisionSettings, UnsupportedResource, aws_clients, provision


@pytest.fixture
def clients() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield aws_clients("https://sqs.us-east-1.amazonaws.com", "us-east-1")


def provision_template(template: dict[str, Any], clients: dict[str, Any], tmp_path: Path) -> Provisioned:
    return provision(Assembly(tmp_path, [Stack("Work", template)]), clients, ProvisionSettings(work_dir=tmp_path))


def mapping(**properties: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "FunctionName": "worker",
                    "BatchSize": 5,
                    **properties,
                },
            },
        }
    }


def test_an_sqs_mapping_is_read_from_the_template(clients: dict[str, Any], tmp_path: Path) -> None:
    # Given a mapping with a batch size and a batching window / When provisioned
    provisioned = provision_template(mapping(MaximumBatchingWindowInSeconds=2), clients, tmp_path)
    # Then the poller gets them
    [found] = provisioned.mappings
    assert (found.batch_size, found.batching_window_seconds) == (5, 2.0)
    assert found.function_arn == "arn:aws:lambda:us-east-1:123456789012:function:worker"


def test_a_mapping_with_filter_criteria_stops_the_local_mode(clients: dict[str, Any], tmp_path: Path) -> None:
    # Given a mapping that lets only some messages through (Lambda deletes the others unseen)
    filters = {"Filters": [{"Pattern": '{"body": {"kind": ["image"]}}'}]}
    # When provisioned / Then it is refused rather than run without its filter
    with pytest.raises(UnsupportedResource, match="FilterCriteria"):
        provision_template(mapping(FilterCriteria=filters), clients, tmp_path)
