"""Every environment synthesized once per session (with cdk-nag as a validation plugin)."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from tests.support.synth import Synthesized, synthesize

ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    return synthesize(request.param)


@pytest.fixture(scope="session")
def recognition(synthesized: Synthesized) -> Template:
    return Template.from_json(synthesized.template("Recognition"))


@pytest.fixture(scope="session")
def data(synthesized: Synthesized) -> Template:
    return Template.from_json(synthesized.template("Data"))
