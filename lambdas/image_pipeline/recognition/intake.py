"""One SQS message -> the uploads it names -> their outcomes; a message held back by the quota goes back."""

from __future__ import annotations

from dataclasses import dataclass

from image_pipeline.recognition.domain.analysis import AnalysisOutcome, ImageAnalysis
from image_pipeline.recognition.domain.backfill import BackfillRequest
from image_pipeline.recognition.domain.ports import Requeue
from image_pipeline.recognition.domain.reanalysis import ReanalysisRequest, parse_work
from image_pipeline.shared.errors import ObjectSuperseded, RecognitionDeferred
from image_pipeline.shared.telemetry import count, logger

# A message held back by the quota comes back after 2, 4, 8, ... seconds, at most SQS's 15 minutes.
MAX_DEFERRAL_DELAY_SECONDS = 900


@dataclass(frozen=True)
class QueuedMessage:
    body: str
    deferrals: int = 0  # how many times the quota has put it back already
    # This receive is the queue's last (maxReceiveCount): if it fails, SQS moves the message to the DLQ.
    last_receive: bool = False


def deferral_delay(deferrals: int) -> int:
    return int(min(MAX_DEFERRAL_DELAY_SECONDS, 2 ** min(deferrals, 10)))


def process_message(service: ImageAnalysis, body: str) -> list[str]:
    """Outcomes of every upload in the message. Raises (so the record is retried) only on retryable errors;
    a malformed body raises too and, after maxReceiveCount, rests in the DLQ for a person to read.
    RecognitionDeferred is raised after every upload of the message had its turn."""
    outcomes = []
    deferred: RecognitionDeferred | None = None
    try:
        for work in parse_work(body):
            try:
                if isinstance(work, ReanalysisRequest):
                    outcomes.append(service.reanalyse(work).value)
                elif isinstance(work, BackfillRequest):
                    outcomes.append(service.backfill(work).value)
                else:
                    outcomes.append(service.process(work).value)
            except ObjectSuperseded as gone:
                logger.info("Skipped: object gone or overwritten", extra={"reason": str(gone)})
                outcomes.append(AnalysisOutcome.SUPERSEDED.value)
            except RecognitionDeferred as held_back:
                deferred = held_back
                outcomes.append(AnalysisOutcome.DEFERRED.value)
    finally:
        logger.thread_safe_clear_keys()
    if deferred is not None:
        raise deferred
    return outcomes


def receive(service: ImageAnalysis, requeue: Requeue, message: QueuedMessage) -> list[str]:
    """Processes one queued message. One held back by the quota is sent again as a new message with a delay
    and a carried count, and this one counts as done: throttling never uses up a receive towards the DLQ
    (the uploads it named that were finished come back as cheap duplicates). Any other failure fails the record
    (SQS receives it again); on its last receive the images it was for are marked FAILED first (``abandon``)."""
    try:
        return process_message(service, message.body)
    except RecognitionDeferred as held_back:
        return _put_back(requeue, message, held_back)
    except Exception as fault:
        if message.last_receive:
            abandon(service, message.body, str(fault) or type(fault).__name__)
        raise


def abandon(service: ImageAnalysis, body: str, reason: str) -> None:
    """The message's last receive failed: every image it was for that still waits for it is marked FAILED (its
    results kept, image.failed published) instead of staying PENDING while the message rests in the DLQ."""
    try:
        works = parse_work(body)
    except Exception:  # a body that names no image: nothing waits for it
        return
    for work in works:
        try:
            service.give_up(work, reason)
        except Exception:
            logger.exception("Could not mark the image of a dead-lettered message as FAILED")


def _put_back(requeue: Requeue, message: QueuedMessage, held_back: RecognitionDeferred) -> list[str]:
    deferrals = message.deferrals + 1
    delay = deferral_delay(deferrals)
    requeue.put_back(message.body, deferrals, delay)
    count("MessagesDeferred")
    logger.info("Held back by the quota: put back", extra={"reason": str(held_back), "deferrals": deferrals})
    return [AnalysisOutcome.DEFERRED.value]
