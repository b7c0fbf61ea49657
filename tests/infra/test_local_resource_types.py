"""The local mode runs every resource the app synthesizes, or ignores it for a stated reason."""

from __future__ import annotations

from local.cfn.assembly import Assembly
from local.provisioners.resource_types import IGNORED, RUN, classify
from tests.support.synth import Synthesized


def test_every_synthesized_resource_type_is_run_or_ignored_by_the_local_mode(synthesized: Synthesized) -> None:
    # Given the synthesized cloud assembly of an environment
    assembly = Assembly.load(synthesized.outdir)
    # When the local mode sorts its resources
    _, _, unsupported = classify(assembly)
    # Then none is left that it cannot run: a new resource type needs local support (local/provisioners/)
    # or an entry in local/provisioners/resource_types.IGNORED with the reason it needs none
    assert [f"{r.stack}/{r.logical_id}: {r.type}" for r in unsupported] == []


def test_no_type_is_both_run_and_ignored() -> None:
    assert set(RUN) & set(IGNORED) == set()
    assert all(reason.strip() for reason in [*RUN.values(), *IGNORED.values()])


def test_the_recognition_path_is_run_not_ignored(synthesized: Synthesized) -> None:
    # Given the assembly / When classified / Then the functions, queues, topics, tables and buckets all run
    run, ignored, _ = classify(Assembly.load(synthesized.outdir))
    run_types = {resource.type for resource in run}
    assert {
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "Custom::S3BucketNotifications",
        "AWS::Cognito::UserPool",
        "AWS::ApiGateway::Method",
    } <= run_types
    # only CDK's own custom-resource handlers are functions the local mode does not run
    ignored_functions = [r for r, _ in ignored if r.type == "AWS::Lambda::Function"]
    assert all(not str(r.properties.get("Handler", "")).startswith("image_pipeline.") for r in ignored_functions)
