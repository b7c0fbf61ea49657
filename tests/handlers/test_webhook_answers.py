"""Whatever a receiver answers, the attempt is recorded and its follow-up scheduled (property-based).

Retry-After values, status lines and header bytes come from hypothesis; a receiver's answer is bytes we do
not control (Latin-1 headers can carry "²", an HTTP date can name the year 99999).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from image_pipeline.webhooks.adapters.transport import SafeTransport
from image_pipeline.webhooks.domain.model import Failure
from image_pipeline.webhooks.domain.ports import EndpointAnswer
from image_pipeline.webhooks.domain.schedule import MAX_RETRY_AFTER_SECONDS, parse_retry_after
from image_pipeline.webhooks.domain.targets import TargetPolicy
from tests.handlers.test_webhook_transport import _raw_server
from tests.unit.test_webhook_dispatch import NOW, _dispatcher, _job

LOOPBACK = TargetPolicy.of(allow_http=True, allowed_networks="127.0.0.0/8")
# What a Latin-1 header line can hold: every byte but CR and LF.
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFF, exclude_characters="\r\n"))
HTTP_DATES = st.builds(
    "{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
    st.sampled_from(["Mon", "Tue", "Sun", "Xyz"]),
    st.integers(0, 40),
    st.sampled_from(["Jan", "Feb", "Dec", "Foo"]),
    st.integers(-10, 10**25),
    st.integers(0, 30),
    st.integers(0, 70),
    st.integers(0, 70),
    st.sampled_from(["GMT", "+0000", "-2359", "+9999", "UT", ""]),
)


@given(value=st.one_of(HEADER_TEXT, HTTP_DATES, st.text()))
@example("²")
@example("٣")
@example("Fri, 31 Dec 99999 23:59:59 GMT")
@example("Mon, 01 Jan 9999999999999999999 00:00:00 GMT")
@example("Sat, 01 Jan 0001 00:00:00 +2359")
@example("99999999999999999999")
def test_any_retry_after_is_read_as_a_bounded_wait_or_ignored(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER_SECONDS


def test_retry_after_in_seconds_or_as_a_date_is_honoured() -> None:
    assert parse_retry_after(" 120 ", NOW) == 120
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:00 GMT", 1_800_000_000.0 - 60) == 60
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", NOW) == MAX_RETRY_AFTER_SECONDS
    assert parse_retry_after("Thu, 01 Jan 2015 00:00:00 GMT", NOW) == 0
    assert parse_retry_after("²", NOW) is None


@given(retry_after=st.one_of(HEADER_TEXT, HTTP_DATES), status=st.sampled_from([429, 503, 301, 102, 500]))
@example(retry_after="²", status=429)
@example(retry_after="Fri, 31 Dec 99999 23:59:59 GMT", status=503)
def test_a_strange_retry_after_still_records_the_attempt_and_schedules_the_retry(retry_after: str, status: int) -> None:
    # Given an endpoint answering a retryable status with any Retry-After at all
    dispatcher, sqs, repository, _ = _dispatcher(status)
    dispatcher._transport = _Answering(EndpointAnswer(status, 3, retry_after=retry_after))  # type: ignore[assignment]
    # When the attempt is made, Then it is recorded as a retry and the next attempt is queued
    assert dispatcher.deliver(_job(1, NOW)) == "retry"
    [(attempt, status_recorded, next_at)] = repository.attempts
    assert (attempt.status_code, status_recorded.value, next_at is not None) == (status, "RETRYING", True)
    assert len(sqs.sent) == 1


class _Answering:
    def __init__(self, answer: EndpointAnswer) -> None:
        self.answer = answer

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        return self.answer


class _Exploding:
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        raise UnicodeDecodeError("latin-1", b"\xb2", 0, 1, "a surprise after the POST was sent")


def test_an_attempt_that_fails_inside_the_dispatcher_is_recorded_and_retried() -> None:
    # Given a transport that raises something nobody foresaw (after the request went out)
    dispatcher, sqs, repository, _ = _dispatcher(200)
    dispatcher._transport = _Exploding()  # type: ignore[assignment]
    # When the attempt is made, Then it is recorded with a failure class and the retry is queued: no exception
    # reaches the queue (which would cycle the message into the dead-letter queue with nothing recorded)
    assert dispatcher.deliver(_job(1, NOW)) == "retry"
    [(attempt, status, next_at)] = repository.attempts
    assert (attempt.failure, status.value, attempt.status_code) == (Failure.INTERNAL, "RETRYING", None)
    assert "latin-1" not in (attempt.error or "")
    assert next_at is not None
    assert len(sqs.sent) == 1


# ----- raw answers over a loopback socket


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[int, queue.Queue[bytes]]]:
    """A loopback server that answers each request with the next scripted bytes, then closes."""
    answers: queue.Queue[bytes] = queue.Queue()
    with _raw_server(lambda connection: connection.sendall(answers.get(timeout=5))) as (port, _):
        yield port, answers


STATUS_LINES = st.one_of(
    st.binary(max_size=60).filter(lambda b: b"\n" not in b),
    st.builds(lambda code, reason: b"HTTP/1.1 " + code + b" " + reason, st.binary(max_size=6), st.binary(max_size=20)),
    st.integers(-5, 100_000).map(lambda code: f"HTTP/1.1 {code} X".encode()),
)
HEADER_BYTES = st.lists(
    st.builds(lambda name, value: name + b": " + value, st.binary(max_size=20), st.binary(max_size=40)).filter(
        lambda b: b"\n" not in b and b"\r" not in b
    ),
    max_size=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status_line=STATUS_LINES, headers=HEADER_BYTES, retry_after=st.binary(max_size=30))
@example(status_line=b"HTTP/1.1 429 Too Many", headers=[], retry_after="²".encode("latin-1"))
@example(status_line=b"HTTP/1.1 503 X", headers=[], retry_after=b"Fri, 31 Dec 99999 23:59:59 GMT")
def test_any_answer_bytes_become_a_status_or_a_failure_class(
    scripted: tuple[int, queue.Queue[bytes]], status_line: bytes, headers: list[bytes], retry_after: bytes
) -> None:
    port, answers = scripted
    retry = retry_after.replace(b"\r", b"").replace(b"\n", b"")
    answers.put(status_line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"Retry-After: " + retry + b"\r\n\r\n")
    answer = SafeTransport(LOOPBACK, timeout_seconds=5).post(f"http://127.0.0.1:{port}/in", b"{}", {})
    if answer.status is None:
        assert answer.failure in {Failure.INVALID_RESPONSE, Failure.CONNECTION}
        assert answer.error
    else:
        assert 100 <= answer.status <= 999
        assert answer.failure is (None if 200 <= answer.status < 300 else Failure.HTTP_STATUS)
    wait = parse_retry_after(answer.retry_after, NOW)
    assert wait is None or 0 <= wait <= MAX_RETRY_AFTER_SECONDS
