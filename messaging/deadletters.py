"""The dead-letter publisher: where a record goes that can never be processed."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError

from messaging import metrics
from messaging.errors import PoisonMessage
from messaging.headers import KafkaHeaders
from schemas import topics
from schemas.validation import describe

log = logging.getLogger(__name__)

#: Header names of a dead letter; ``hub/features/deadletters`` archives them.
H_TOPIC = "dlq.original.topic"
H_PARTITION = "dlq.original.partition"
H_OFFSET = "dlq.original.offset"
H_ERROR_CLASS = "dlq.error.class"
H_ERROR_MESSAGE = "dlq.error.message"
H_ATTEMPTS = "dlq.attempts"
H_CONSUMER = "dlq.consumer"


class DeadLetters:
    """Publishes a record to ``mpp.deadletter``.

    Headers carry where it came from and why (as Kafka Connect does); the value is
    the original bytes, untouched, so an operator can replay it. Reasons are error
    texts of ours, never payload contents, so no personal data ends up in headers.
    """

    def __init__(self, producer: AIOKafkaProducer, consumer_name: str) -> None:
        self._producer = producer
        self._consumer_name = consumer_name

    async def publish(self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int = 1) -> None:
        headers: KafkaHeaders = list(record.headers or ())
        headers += [
            (H_TOPIC, record.topic.encode()),
            (H_PARTITION, str(record.partition).encode()),
            (H_OFFSET, str(record.offset).encode()),
            (H_ERROR_CLASS, type(error).__name__.encode()),
            (H_ERROR_MESSAGE, safe_reason(error).encode()),
            (H_ATTEMPTS, str(attempts).encode()),
            (H_CONSUMER, self._consumer_name.encode()),
        ]
        await (await self._producer.send(topics.DEADLETTER, value=record.value, key=record.key, headers=headers))
        metrics.dead_lettered(record.topic, error)
        log.warning(
            "dead-lettered %s[%d]@%d from %s: %s",
            record.topic,
            record.partition,
            record.offset,
            self._consumer_name,
            type(error).__name__,
        )


def safe_reason(error: BaseException) -> str:
    """A reason that names fields and error types but never echoes input values."""
    cause = error.__cause__ if isinstance(error, PoisonMessage) and error.__cause__ else error
    if isinstance(cause, ValidationError):
        return f"{cause.title} invalid: {describe(cause, limit=10)}"
    return str(error)[:500]
