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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner_share": 2}, "owner_share < max_concurrency"),  # dev has 2 instances: one owner may hold 1
        ({"attempt_timeout_seconds": 31}, "attempt_timeout_seconds"),
        ({"allowed_ports": (443, 0)}, "allowed_ports"),
        ({"breaker_open_seconds": 1000}, "breaker_open_seconds"),
    ],
)
def test_webhook_settings_that_would_let_one_owner_stall_the_others_are_refused(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(ENVIRONMENTS["dev"].webhooks, **change)  # type: ignore[arg-type]


def test_one_owner_can_never_hold_every_dispatcher_instance() -> None:
    for config in ENVIRONMENTS.values():
        assert 1 <= config.webhooks.owner_share < config.webhooks.max_concurrency
