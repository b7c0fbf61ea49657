"""A message held back by the quota: its delay grows and stays within SQS's limit; its count is carried."""

from __future__ import annotations

from image_pipeline.recognition.adapters.upload_queue import deferrals_of
from image_pipeline.recognition.intake import MAX_DEFERRAL_DELAY_SECONDS, deferral_delay


def test_the_delay_doubles_up_to_sqs_limit() -> None:
    assert [deferral_delay(n) for n in range(1, 6)] == [2, 4, 8, 16, 32]
    assert deferral_delay(10) == MAX_DEFERRAL_DELAY_SECONDS == 900
    assert deferral_delay(10_000) == 900


def test_the_count_is_read_from_the_message_attribute_as_lambda_or_sqs_give_it() -> None:
    assert deferrals_of({}) == 0
    assert deferrals_of({"deferrals": {"stringValue": "3", "dataType": "Number"}}) == 3
    assert deferrals_of({"deferrals": {"stringValue": "x", "dataType": "Number"}}) == 0
    assert deferrals_of({"deferrals": {"stringValue": "-4", "dataType": "Number"}}) == 0
