"""The archiver: every record on ``mpp.deadletter`` becomes a ``dead_letters`` row.

One DB transaction per record, idempotent on the record's (partition, offset); the
offset is committed only after that transaction, so a crash redelivers and the
redelivery is skipped. It is a configuration of the one consume loop over raw
records (dead letters are, by definition, often not valid envelopes): a failed store
(the DB is away) rewinds and parks only that partition, with the loop's backoff.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config import Settings
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from hub.features.deadletters.policy import archive_status, original_headers, replay_count_of
from hub.features.topic_reader import follow_topic
from messaging import deadletters as dlq
from messaging import header, raw_record
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
    found = {name: value for name, value in headers if name.startswith("dlq.")}
    incoming = replay_count_of(headers)
    timestamp = datetime.fromtimestamp(record.timestamp / 1000, UTC) if record.timestamp and record.timestamp > 0 else datetime.now(UTC)
    return DeadLetter(
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        original_topic=found.get(dlq.H_TOPIC),
        original_partition=_int(found.get(dlq.H_PARTITION)),
        original_offset=_int(found.get(dlq.H_OFFSET)),
        key=record.key,
        value=record.value,
        headers=[[name, value] for name, value in original_headers(headers)],
        error_class=found.get(dlq.H_ERROR_CLASS, "unknown")[:200],
        error_message=found.get(dlq.H_ERROR_MESSAGE, ""),
        consumer=found.get(dlq.H_CONSUMER, "unknown")[:100],
        attempts=_int(found.get(dlq.H_ATTEMPTS)) or 1,
        correlation_id=header(record, Headers.CORRELATION_ID),
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
    """The handler: one record, one transaction (see :func:`store`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, limit: int) -> None:
        self._sessions = sessions
        self._limit = limit
        self.archived = 0

    async def handle(self, record: ConsumerRecord[bytes, bytes], _: ConsumerRecord[bytes, bytes]) -> None:
        if await store(self._sessions, record, limit=self._limit) is not None:
            self.archived += 1


async def run_archiver(settings: Settings, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    """Archive ``mpp.deadletter`` into the ``dead_letters`` table until ``stop`` is set."""
    handler = DeadLetterArchiver(sessions, limit=settings.dlq.max_replays).handle
    await follow_topic(settings, topics.DEADLETTER, handler, group_id=GROUP_ID, name="dead-letter archiver", decoder=raw_record, stop=stop)
