"""Per-environment config: validated at import."""

import dataclasses

import pytest

from stacks.config import ENVIRONMENTS, config_for


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


def test_every_environment_has_a_daily_image_quota_of_at_least_one() -> None:
    assert all(config.daily_image_quota >= 1 for config in ENVIRONMENTS.values())
    with pytest.raises(ValueError, match="daily_image_quota"):
        dataclasses.replace(ENVIRONMENTS["dev"], daily_image_quota=0)
