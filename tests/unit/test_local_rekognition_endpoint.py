"""`make local` with REKOGNITION_ENDPOINT_URL: the functions call that endpoint, no offline analyzer starts."""

from __future__ import annotations

import pytest

from local.__main__ import parse
from local.app import LocalMode, Options


def test_the_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REKOGNITION_ENDPOINT_URL", "http://127.0.0.1:9123")
    assert parse([]).rekognition_endpoint == "http://127.0.0.1:9123"


def test_the_option_wins_over_the_environment_and_none_means_the_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REKOGNITION_ENDPOINT_URL", "http://127.0.0.1:9123")
    assert parse(["--rekognition-endpoint-url", "http://127.0.0.1:7"]).rekognition_endpoint == "http://127.0.0.1:7"
    monkeypatch.delenv("REKOGNITION_ENDPOINT_URL")
    assert parse([]).rekognition_endpoint is None


def test_the_functions_are_pointed_at_the_given_endpoint() -> None:
    mode = LocalMode(Options(rekognition_endpoint="http://127.0.0.1:9123"))
    assert mode.rekognition_url == "http://127.0.0.1:9123"
    assert mode.analyzer is None
    assert LocalMode(Options(analyzer=False)).rekognition_url is None
