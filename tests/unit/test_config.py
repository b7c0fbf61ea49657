"""Per-environment config: validated at import."""

import dataclasses

import pytest

from stacks.config import ENVIRONMENTS, SLOWEST_BATCH_SECONDS, RekognitionQuotas, config_for


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_concurrency_leaves_latency_no_say_in_the_rate(name: str) -> None:
    # Images in flight must cover quota x the slowest batch (~3.1 x a median latency of 2.5 s, the slowest we
    # plan for), or a slow Rekognition would leave the quota unused; the rate limiter keeps any concurrency
    # within the quota. In a backlog an image waits about images in flight / quota for its turn: the token
    # wait leaves room for it.
    config = ENVIRONMENTS[name]
    for quota in config.rekognition_quotas.per_feature().values():
        assert config.in_flight_calls_per_operation >= quota * SLOWEST_BATCH_SECONDS
        assert config.rekognition_token_wait_seconds >= config.in_flight_calls_per_operation / quota


def test_a_fleet_too_small_to_use_its_quota_at_a_slow_rekognition_is_refused() -> None:
    # 50 TPS with 20 x 10 images in flight: at a median of 2.5 s the fleet could use about half the quota
    with pytest.raises(ValueError, match="images in flight"):
        dataclasses.replace(ENVIRONMENTS["prod"], max_concurrency=20)


def test_raising_concurrency_past_the_quota_is_allowed_now() -> None:
    config = dataclasses.replace(ENVIRONMENTS["dev"], max_concurrency=100, image_concurrency=10)
    assert config.in_flight_calls_per_operation == 1000


def test_quotas_are_per_operation_and_reach_the_worker_as_one_variable() -> None:
    quotas = RekognitionQuotas(labels=50, text=20, faces=100, moderation=50, celebrities=5)
    assert quotas.environment_value() == "labels=50,text=20,faces=100,moderation=50,celebrities=5"
    with pytest.raises(ValueError, match="at least 1 TPS"):
        RekognitionQuotas(text=0)


def test_the_token_wait_is_bounded_by_the_worker_timeout() -> None:
    with pytest.raises(ValueError, match="rekognition_token_wait_seconds"):
        dataclasses.replace(ENVIRONMENTS["dev"], rekognition_token_wait_seconds=30)


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


def test_every_environment_has_a_daily_image_quota_of_at_least_one() -> None:
    assert all(config.daily_image_quota >= 1 for config in ENVIRONMENTS.values())
    with pytest.raises(ValueError, match="daily_image_quota"):
        dataclasses.replace(ENVIRONMENTS["dev"], daily_image_quota=0)
