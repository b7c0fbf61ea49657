"""The per-user daily image quota of POST /images, through the real API handler against moto."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest

from image_pipeline.api import composition as api_composition
from image_pipeline.uploads.domain.quota import DailyQuota
from tests.handlers import test_api_images as images
from tests.handlers.test_api_images import ALICE, BOB, Api

# The fixtures of the /images tests: the API handler wired from the synthesized stack, moto on loopback.
api = images.api
endpoint = images.endpoint

BODY = {"filename": "cat.jpg", "contentType": "image/jpeg"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(api: Api, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A quota of 2 images a day and a clock the test moves (injected where the composition root builds it)."""
    monkeypatch.setenv("DAILY_IMAGE_QUOTA", "2")
    fake = Clock(datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC))
    monkeypatch.setattr(api_composition, "DailyQuota", functools.partial(DailyQuota, clock=fake))
    api_composition.components.cache_clear()
    return fake


def test_the_image_over_the_daily_quota_is_refused_with_when_the_quota_resets(api: Api, clock: Clock) -> None:
    # Given a user who created today's two images
    api.create()
    api.create()
    # When they ask for a third
    answer = api("POST", "/images", body=BODY)
    # Then 429 says when the quota resets: next midnight UTC, in the body and as Retry-After seconds
    assert answer.status == 429, answer
    assert answer.body["resetsAt"] == "2026-12-01T00:00:00Z"
    assert answer.headers["Retry-After"] == "30"
    assert "quota" in answer.body["message"]
    # And no image was created for the refused request
    assert len(api("GET", "/images").body["items"]) == 2


def test_the_next_utc_day_counts_anew(api: Api, clock: Clock) -> None:
    # Given a user whose quota is used up late in the day
    api.create()
    api.create()
    assert api("POST", "/images", body=BODY).status == 429
    # When midnight UTC has passed
    clock.now += timedelta(seconds=31)
    # Then they may create images again, up to the quota
    api.create()
    api.create()
    assert api("POST", "/images", body=BODY).status == 429


def test_one_users_quota_does_not_refuse_another_user(api: Api, clock: Clock) -> None:
    # Given Alice used up her quota
    api.create(ALICE)
    api.create(ALICE)
    assert api("POST", "/images", owner=ALICE, body=BODY).status == 429
    # Then Bob still creates his images
    api.create(BOB)
    api.create(BOB)


def test_the_day_counter_is_one_item_that_the_table_forgets_after_two_days(api: Api, clock: Clock) -> None:
    # When a user creates an image
    api.create()
    # Then one counter item of that owner and UTC day holds the count, with the table's TTL two days after the day began
    item = api.stores.dynamodb.get_item(
        TableName=api.stores.table, Key={"pk": {"S": f"QUOTA#{ALICE}#2026-11-30"}, "sk": {"S": "QUOTA"}}
    )["Item"]
    assert item["count"] == {"N": "1"}
    assert int(item["expiresAt"]["N"]) == int(datetime(2026, 12, 2, tzinfo=UTC).timestamp())
