"""The archiver: every record on ``mpp.deadletter`` becomes a ``dead_letters`` row.

One DB transaction per record, idempotent on the record's (partition, offset); the
offset is committed only after that transaction, so a crash redelivers and the
redelivery is skipped. The archiver cannot use ``ConsumeLoop``: dead letters are, by
definition, often not valid envelopes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from messaging.bus import create_consumer, ensure_topics
from hub.config import Settings
from hub.db.engine import create_engine, create_sessionmaker
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from hub.features.deadletters.policy import archive_status, original_headers, replay_count_of
from schemas import topics
from schemas.envelope import Headers

log = logging.getLogger(__name__)

GROUP_ID = "mpp-dlq-archive"
ACTOR = "archiver"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def to_dead_letter(record: ConsumerRecord[bytes, bytes], *, limit: int) -> DeadLetter:
    """The archive row for one record of the dead-letter topic (not yet added to a session)."""
    headers = [(name, value.decode("utf-8", errors="replace")) for name, value in record.headers or ()]
    dlq = {name: value for name, value in headers if name.startswith("dlq.")}
    incoming = replay_count_of(headers)
    timestamp = datetime.fromtimestamp(record.timestamp / 1000, UTC) if record.timestamp and record.timestamp > 0 else datetime.now(UTC)
    return DeadLetter(
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        original_topic=dlq.get("dlq.original.topic"),
        original_partition=_int(dlq.get("dlq.original.partition")),
        original_offset=_int(dlq.get("dlq.original.offset")),
        key=record.key,
        value=record.value,
        headers=[[name, value] for name, value in original_headers(headers)],
        error_class=dlq.get("dlq.error.class", "unknown")[:200],
        error_message=dlq.get("dlq.error.message", ""),
        consumer=dlq.get("dlq.consumer", "unknown")[:100],
        attempts=_int(dlq.get("dlq.attempts")) or 1,
        correlation_id=next((v for n, v in headers if n == Headers.CORRELATION_ID), None),
        incoming_replay_count=incoming,
        dead_lettered_at=timestamp,
        status=archive_status(incoming, limit),
        replay_count=0,
    )


async def store(sessions: async_sessionmaker[AsyncSession], record: ConsumerRecord[bytes, bytes], *, limit: int) -> DeadLetter | None:
    """Archive one record in one transaction; None if it was archived before."""
    async with sessions.begin() as session:
        existing = await session.scalar(
            select(DeadLetter.id).where(DeadLetter.dlq_partition == record.partition, DeadLetter.dlq_offset == record.offset)
        )
        if existing is not None:
            return None
        row = to_dead_letter(record, limit=limit)
        session.add(row)
        await session.flush()
        detail = f"{row.original_topic}[{row.original_partition}]@{row.original_offset} from {row.consumer}: {row.error_class}"
        if row.incoming_replay_count:
            detail += f" (came back after replay #{row.incoming_replay_count})"
        session.add(DeadLetterAudit(dead_letter_id=row.id, actor=ACTOR, action="archive", result=row.status, detail=detail))
    log.info("archived dead letter %d (%s) as %s", row.id, detail, row.status)
    return row


class DeadLetterArchiver:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], consumer: AIOKafkaConsumer, *, limit: int, max_backoff_seconds: float = 5.0) -> None:
        self._sessions = sessions
        self._consumer = consumer
        self._limit = limit
        self._max_backoff = max_backoff_seconds
        self._failures = 0
        self.archived = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=200)
            for tp, records in batches.items():
                await self._archive_partition(tp, records, stop)

    async def _archive_partition(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]], stop: asyncio.Event) -> None:
        done: int | None = None
        try:
            for record in records:
                if stop.is_set():
                    break
                try:
                    if await store(self._sessions, record, limit=self._limit) is not None:
                        self.archived += 1
                except Exception:
                    # The DB is away (or a concurrent duplicate lost the race): rewind and retry.
                    self._failures += 1
                    delay = min(self._max_backoff, 0.1 * 2 ** min(self._failures, 10))
                    log.exception("dead-letter archiver: storing %s[%d]@%d failed; retrying in %.1fs", tp.topic, tp.partition, record.offset, delay)
                    self._consumer.seek(tp, record.offset)
                    await asyncio.sleep(delay)
                    break
                self._failures = 0
                done = record.offset
        finally:
            if done is not None:
                await self._commit(tp, done + 1)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("dead-letter archiver: commit for %s lost to a rebalance: %s", tp, exc)
        except KafkaError:
            log.exception("dead-letter archiver: commit for %s failed; records will be redelivered (and skipped)", tp)


async def run_archiver(settings: Settings, stop: asyncio.Event) -> None:
    """Archive ``mpp.deadletter`` into the ``dead_letters`` table until ``stop`` is set."""
    await ensure_topics(settings.kafka.bootstrap, [topics.DEADLETTER], settings.kafka.partitions)
    engine = create_engine(settings.database_url)
    consumer = create_consumer(settings.kafka.bootstrap, GROUP_ID, [topics.DEADLETTER])
    try:
        await consumer.start()
        try:
            await DeadLetterArchiver(create_sessionmaker(engine), consumer, limit=settings.dlq.max_replays).run(stop)
        finally:
            await consumer.stop()
    finally:
        await engine.dispose()
