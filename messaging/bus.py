"""The bus runtime every participant shares: producer, consumer, topic set-up,
and the at-least-once consume loop with dead letters.

It lives in the SDK because an agency's adapter shipped as its own package needs it
without the hub; the hub's router reuses it rather than keeping a second copy.

Delivery contract of ``ConsumeLoop``: a record's offset is committed only after its
handler returned, i.e. after the handler's own DB commit or publish. A crash
anywhere therefore redelivers, and handlers dedup by message id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from pydantic import ValidationError

from messaging.errors import PoisonMessage, RetryLater
from schemas import topics
from schemas.envelope import Envelope, Headers

log = logging.getLogger(__name__)

KafkaHeaders = list[tuple[str, bytes]]
Handler = Callable[[Envelope, ConsumerRecord[bytes, bytes]], Awaitable[None]]


def envelope_headers(envelope: Envelope, *, correlation_id: str, traceparent: str) -> KafkaHeaders:
    return [
        (Headers.MESSAGE_ID, str(envelope.message_id).encode()),
        (Headers.MESSAGE_TYPE, envelope.type.value.encode()),
        (Headers.SCHEMA_VERSION, str(envelope.schema_version).encode()),
        (Headers.CORRELATION_ID, correlation_id.encode()),
        (Headers.TRACEPARENT, traceparent.encode()),
        (Headers.CONTENT_TYPE, b"application/json"),
    ]


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None


def create_producer(bootstrap: str) -> AIOKafkaProducer:
    """Idempotent producer (acks=all): a retried send never duplicates within a session."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)


def create_consumer(bootstrap: str, group_id: str, topic_names: Sequence[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topic_names,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=300_000,
    )


async def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """Create topics up front so partition counts are ours, not the broker default."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another process: that is what we wanted
    finally:
        await admin.close()


class DeadLetters:
    """Publishes a record that cannot be processed to the dead-letter topic.

    Headers carry where it came from and why (as Kafka Connect does); the value is
    the original bytes, untouched. Reasons are error texts of ours, never payload
    contents, so no personal data ends up in headers.
    """

    def __init__(self, producer: AIOKafkaProducer, consumer_name: str) -> None:
        self._producer = producer
        self._consumer_name = consumer_name

    async def publish(self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int = 1) -> None:
        headers: KafkaHeaders = list(record.headers or ())
        headers += [
            ("dlq.original.topic", record.topic.encode()),
            ("dlq.original.partition", str(record.partition).encode()),
            ("dlq.original.offset", str(record.offset).encode()),
            ("dlq.error.class", type(error).__name__.encode()),
            ("dlq.error.message", _safe_reason(error).encode()),
            ("dlq.attempts", str(attempts).encode()),
            ("dlq.consumer", self._consumer_name.encode()),
        ]
        await (await self._producer.send(topics.DEADLETTER, value=record.value, key=record.key, headers=headers))
        log.warning(
            "dead-lettered %s[%d]@%d from %s: %s",
            record.topic, record.partition, record.offset, self._consumer_name, type(error).__name__,
        )


def _safe_reason(error: BaseException) -> str:
    """A reason that names fields and error types but never echoes input values."""
    cause = error.__cause__ if isinstance(error, PoisonMessage) and error.__cause__ else error
    if isinstance(cause, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['type']}" for e in cause.errors(include_input=False)]
        return f"{cause.title} invalid: " + "; ".join(parts[:10])
    return str(error)[:500]


@dataclass
class LoopStats:
    processed: int = 0
    dead_lettered: int = 0
    handler_errors: int = 0


class ConsumeLoop:
    """Reads records, hands each decoded envelope to ``handler``, commits after it.

    - Undecodable or schema-invalid records, and handlers raising ``PoisonMessage``,
      go to the dead-letter topic at once.
    - ``RetryLater`` rewinds the partition and pauses the whole consumer for its delay
      (the agency is down: other partitions would fail the same way).
    - Any other handler error is logged with its traceback, the partition is rewound
      to the failed record, and the loop backs off and retries: nothing is skipped and
      nothing is swallowed.
    """

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: Handler,
        dead_letters: DeadLetters,
        *,
        name: str,
        batch_size: int = 200,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._dead_letters = dead_letters
        self.name = name
        self._batch_size = batch_size
        self._max_backoff = max_backoff_seconds
        self._failures: dict[TopicPartition, int] = {}  # consecutive handler errors, per partition
        self._paused_until = 0.0
        self.stats = LoopStats()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if loop.time() < self._paused_until:
                # Keep polling while paused: heartbeats and rebalances go on, no records come.
                self._consumer.pause(*self._consumer.assignment())
                await self._consumer.getmany(timeout_ms=min(100, int((self._paused_until - loop.time()) * 1000) + 1))
                continue
            if self._consumer.paused():
                self._consumer.resume(*self._consumer.paused())
            batches = await self._consumer.getmany(timeout_ms=100, max_records=self._batch_size)
            # Partitions are independent (a case lives on one), so they proceed in
            # parallel; within a partition records stay strictly in order.
            await asyncio.gather(*(self._process_partition(tp, records, stop) for tp, records in batches.items()))

    async def _process_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]], stop: asyncio.Event
    ) -> None:
        done: int | None = None
        try:
            for record in records:
                if stop.is_set():
                    break
                try:
                    await self._process(record)
                except RetryLater as exc:
                    log.warning("%s: pausing %.1fs, will retry %s[%d]@%d: %s", self.name, exc.delay, tp.topic, tp.partition, record.offset, exc)
                    self._consumer.seek(tp, record.offset)
                    self._paused_until = max(self._paused_until, asyncio.get_running_loop().time() + exc.delay)
                    break
                except Exception:
                    self.stats.handler_errors += 1
                    self._failures[tp] = failures = self._failures.get(tp, 0) + 1
                    delay = min(self._max_backoff, 0.1 * 2 ** min(failures, 10))
                    log.exception("%s: handler failed on %s[%d]@%d; retrying in %.1fs", self.name, tp.topic, tp.partition, record.offset, delay)
                    self._consumer.seek(tp, record.offset)
                    await asyncio.sleep(delay)
                    break
                self._failures.pop(tp, None)
                done = record.offset
        finally:
            if done is not None:
                await self._commit(tp, done + 1)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            if record.value is None:
                raise PoisonMessage("record has no value")
            try:
                envelope = Envelope.from_bytes(record.value)
            except ValidationError as exc:
                raise PoisonMessage("undecodable envelope") from exc
            await self._handler(envelope, record)
        except PoisonMessage as exc:
            await self._dead_letters.publish(record, exc)
            self.stats.dead_lettered += 1
            return
        self.stats.processed += 1

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            # Partition moved to another member in a rebalance: it will redeliver from
            # the last committed offset and the handlers dedup. Visible, not fatal.
            log.warning("%s: offset commit for %s lost to a rebalance: %s", self.name, tp, exc)
        except KafkaError:
            log.exception("%s: offset commit for %s failed; records will be redelivered", self.name, tp)
