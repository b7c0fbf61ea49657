"""The template resolver: intrinsic functions across stacks, against physical ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.cfn.assembly import Assembly, AssemblyError, Stack, Unresolvable
from local.cfn.resolver import PhysicalIds, Resolver

DATA = {
    "Parameters": {"Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/aws/service/layer"}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    },
    "Outputs": {
        "BucketArnExport": {"Value": {"Fn::GetAtt": ["Bucket", "Arn"]}, "Export": {"Name": "Data-BucketArn"}},
        "TableExport": {"Value": {"Ref": "Table"}, "Export": {"Name": "Data-Table"}},
    },
}
WORK = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Environment": {"Variables": {"TABLE": {"Fn::ImportValue": "Data-Table"}}}},
        },
    }
}


@pytest.fixture
def resolve() -> Resolver:
    assembly = Assembly(Path("."), [Stack("Data", DATA), Stack("Work", WORK)])
    physical = PhysicalIds()
    physical.set(("Data", "Bucket"), "images", Arn="arn:aws:s3:::images")
    physical.set(("Data", "Table"), "results", Arn="arn:aws:dynamodb:us-east-1:1:table/results")
    physical.set(("Work", "Queue"), "http://q/uploads", Arn="arn:aws:sqs:us-east-1:1:uploads")
    physical.set_placeholder(("Work", "Function"), "local:Function")
    return Resolver(assembly, physical, region="us-east-1", account="123456789012")


def test_ref_and_getatt_read_the_physical_ids(resolve: Resolver) -> None:
    assert resolve("Work", {"Ref": "Queue"}) == "http://q/uploads"
    assert resolve("Work", {"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:us-east-1:1:uploads"
    assert resolve("Work", {"Fn::GetAtt": "Queue.Arn"}) == "arn:aws:sqs:us-east-1:1:uploads"


def test_import_value_resolves_in_the_exporting_stack(resolve: Resolver) -> None:
    assert resolve("Work", {"Fn::ImportValue": "Data-Table"}) == "results"


def test_cdk_bucket_name_from_an_imported_arn(resolve: Resolver) -> None:
    # CDK's Custom::S3BucketNotifications names the bucket like this when the bucket lives in another stack
    expression = {
        "Fn::Select": [
            0,
            {
                "Fn::Split": [
                    "/",
                    {"Fn::Select": [5, {"Fn::Split": [":", {"Fn::ImportValue": "Data-BucketArn"}]}]},
                ]
            },
        ]
    }
    assert resolve("Work", expression) == "images"


def test_join_and_pseudo_parameters(resolve: Resolver) -> None:
    expression = {
        "Fn::Join": ["", ["https://", {"Ref": "Queue"}, ".", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]
    }
    assert resolve("Work", expression) == "https://http://q/uploads.us-east-1.amazonaws.com"
    assert resolve("Work", {"Ref": "AWS::AccountId"}) == "123456789012"


def test_sub_with_references_attributes_variables_and_literals(resolve: Resolver) -> None:
    text = "${AWS::Region}/${Queue}/${Queue.Arn}/${Name}/${!Literal}"
    assert resolve("Work", {"Fn::Sub": [text, {"Name": {"Ref": "Queue"}}]}) == (
        "us-east-1/http://q/uploads/arn:aws:sqs:us-east-1:1:uploads/http://q/uploads/${Literal}"
    )
    assert resolve("Work", {"Fn::Sub": "cdk-assets-${AWS::AccountId}"}) == "cdk-assets-123456789012"


def test_parameters_resolve_to_their_default_and_no_value_drops_the_key(resolve: Resolver) -> None:
    assert resolve("Data", {"Ref": "Layer"}) == "/aws/service/layer"
    assert resolve("Work", {"A": 1, "B": {"Ref": "AWS::NoValue"}}) == {"A": 1}


def test_ignored_resources_resolve_to_placeholders(resolve: Resolver) -> None:
    assert resolve("Work", {"Ref": "Function"}) == "local:Function"
    assert resolve("Work", {"Fn::GetAtt": ["Function", "Arn"]}) == "local:Function/Arn"


def test_nested_values_resolve_throughout(resolve: Resolver) -> None:
    value: Any = {"Variables": [{"Ref": "Queue"}, {"Nested": {"Fn::ImportValue": "Data-Table"}}]}
    assert resolve("Work", value) == {"Variables": ["http://q/uploads", {"Nested": "results"}]}


def test_unknown_references_and_functions_are_errors(resolve: Resolver) -> None:
    with pytest.raises(Unresolvable):
        resolve("Work", {"Fn::ImportValue": "Nobody-Exports-This"})
    with pytest.raises(Unresolvable):
        resolve("Work", {"Fn::GetAtt": ["Queue", "NoSuchAttribute"]})
    with pytest.raises(AssemblyError):
        resolve("Work", {"Fn::If": ["Condition", 1, 2]})


def test_references_follow_imports_into_the_exporting_stack() -> None:
    assembly = Assembly(Path("."), [Stack("Data", DATA), Stack("Work", WORK)])
    function = WORK["Resources"]["Function"]["Properties"]
    assert assembly.references("Work", function) == {("Data", "Table")}
    assert assembly.references("Work", {"Fn::Sub": "${Queue.Arn}-${AWS::Region}"}) == {("Work", "Queue")}


def test_load_orders_stacks_by_dependency_and_maps_assets(tmp_path: Path) -> None:
    # Given a manifest that lists the dependent stack first
    (tmp_path / "Work.template.json").write_text(json.dumps(WORK))
    (tmp_path / "Data.template.json").write_text(json.dumps(DATA))
    (tmp_path / "Work.assets.json").write_text(
        json.dumps(
            {"files": {"abc": {"source": {"path": "asset.abc"}, "destinations": {"d": {"objectKey": "abc.zip"}}}}}
        )
    )
    manifest = {
        "artifacts": {
            "Work": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Work.template.json"},
                "dependencies": ["Data", "Work.assets"],
            },
            "Work.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Work.assets.json"}},
            "Data": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Data.template.json"}},
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    # When it is loaded
    assembly = Assembly.load(tmp_path)
    # Then stacks come in deployment order and assets are found by their published key
    assert list(assembly.stacks) == ["Data", "Work"]
    assert assembly.asset("Work", "abc.zip") == tmp_path / "asset.abc"
