"""Domain exceptions. Terminal ones become a FAILED result; retryable ones fail the SQS record."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the domain raises on purpose."""


class ImageRejected(PipelineError):
    """The image can never be analysed: recorded as FAILED with a code, never retried."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ObjectSuperseded(PipelineError):
    """The object of the event is gone or was overwritten: a newer event (or a delete) owns it."""


class RetryableError(PipelineError):
    """Try again later: the SQS record is reported as failed and comes back after its visibility timeout."""


class AnalysisInProgress(RetryableError):
    """Another delivery of the same object holds the analysis lock."""


class RecognitionUnavailable(RetryableError):
    """Rekognition failed (a 5xx answer or no answer) after every attempt: a real fault, the SQS record is
    retried and dead-lettered after maxReceiveCount receives."""


class RecognitionDeferred(RetryableError):
    """Held back by the Rekognition quota (no token in time, or throttled on every attempt): not a fault.
    The message is put back on the queue as a new one with a delay, so no receive counts towards the DLQ."""


class RequestError(PipelineError):
    """A caller's request the service refuses; api/errors.py maps each kind to an HTTP status."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RequestError):
    """The request is well-formed JSON but asks for something impossible (422 is for schema errors)."""


class NotFound(RequestError):
    """Unknown, or owned by somebody else: the two are indistinguishable on purpose."""


class Conflict(RequestError):
    """The request contradicts what is stored (e.g. too many webhooks)."""


class RateLimited(RequestError):
    """Asked too often; ``retry_after_seconds`` says when it will be accepted again."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
