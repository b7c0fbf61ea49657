"""Per-environment config: validated at import, and pinned to the same Powertools as the Lambda code."""

import dataclasses
import re
from pathlib import Path

import pytest

from stacks.config import ENVIRONMENTS, POWERTOOLS_VERSION, config_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_powertools_layer_version_equals_the_pinned_library() -> None:
    pins = (ROOT / "lambdas" / "requirements.txt").read_text()
    assert re.search(rf"^aws-lambda-powertools\[[^\]]*\]=={re.escape(POWERTOOLS_VERSION)}$", pins, re.M)


def test_a_config_that_would_exceed_the_quota_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds the Rekognition quota"):
        dataclasses.replace(ENVIRONMENTS["dev"], max_concurrency=10, image_concurrency=5)


def test_unknown_default_features_are_refused() -> None:
    with pytest.raises(ValueError, match="default_features"):
        dataclasses.replace(ENVIRONMENTS["dev"], default_features=("labels", "colors"))


def test_dev_is_the_default_and_unknown_names_fail() -> None:
    assert config_for(None).name == "dev"
    with pytest.raises(ValueError, match="unknown environment"):
        config_for("qa")
