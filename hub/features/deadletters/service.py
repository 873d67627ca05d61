"""What an operator can do with dead letters; the API and the CLI both call these.

Every replay and every refusal is written to the audit trail in the same transaction
as its effect. A replay stages the original record, bytes and headers untouched plus
``dlq.replay.count``, in the transactional outbox, so it reaches its original topic
exactly when the row is marked replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import OutboxMessage
from hub.features.deadletters.models import STATUS_NEW, STATUS_REPLAYED, STATUS_RESOLVED, STATUSES, DeadLetter, DeadLetterAudit
from hub.features.deadletters.policy import next_replay_count, replay_headers, replay_refusal


class DeadLetterNotFound(LookupError):
    pass


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters: every given field must match exactly."""

    status: str | None = None
    topic: str | None = None
    consumer: str | None = None
    error_class: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.status is not None:
            clauses.append(DeadLetter.status == self.status)
        if self.topic is not None:
            clauses.append(DeadLetter.original_topic == self.topic)
        if self.consumer is not None:
            clauses.append(DeadLetter.consumer == self.consumer)
        if self.error_class is not None:
            clauses.append(DeadLetter.error_class == self.error_class)
        return clauses

    def query(self) -> Select[DeadLetter]:
        return select(DeadLetter).where(*self.clauses())

    def for_bulk_replay(self) -> DeadLetterFilter:
        """A bulk replay without a status takes only ``new`` dead letters: it never
        re-sends what was replayed or resolved already by accident."""
        if self.status is not None:
            return self
        return DeadLetterFilter(status=STATUS_NEW, topic=self.topic, consumer=self.consumer, error_class=self.error_class)


@dataclass(frozen=True)
class Page:
    items: list[DeadLetter]
    next_cursor: int | None


async def list_dead_letters(session: AsyncSession, where: DeadLetterFilter, *, limit: int = 50, cursor: int | None = None) -> Page:
    """Newest first; ``cursor`` is the id the previous page ended at."""
    query = where.query().order_by(DeadLetter.id.desc()).limit(limit + 1)
    if cursor is not None:
        query = query.where(DeadLetter.id < cursor)
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


async def get_dead_letter(session: AsyncSession, dead_letter_id: int) -> DeadLetter:
    row = await session.get(DeadLetter, dead_letter_id)
    if row is None:
        raise DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")
    return row


async def audit_trail(session: AsyncSession, dead_letter_id: int) -> list[DeadLetterAudit]:
    await get_dead_letter(session, dead_letter_id)
    query = select(DeadLetterAudit).where(DeadLetterAudit.dead_letter_id == dead_letter_id).order_by(DeadLetterAudit.id)
    return list((await session.scalars(query)).all())


def enqueue_raw(session: AsyncSession, topic: str, *, key: bytes | None, value: bytes, headers: Sequence[tuple[str, str]]) -> OutboxMessage:
    """Stage raw bytes for ``topic`` in the caller's transaction.

    ``hub.runtime.relay.enqueue`` needs a valid ``Envelope`` and reuses its message id as the
    outbox row's unique id; a replay has neither guarantee (the value may be poison,
    and the original may itself have left through this outbox), so it gets a row id
    of its own and carries the original bytes and headers as they were."""
    row = OutboxMessage(message_id=uuid.uuid4(), topic=topic, key=key or b"", value=value, headers=dict(headers))
    session.add(row)
    return row


@dataclass(frozen=True)
class ReplayOutcome:
    dead_letter_id: int
    replayed: bool
    status: str
    replay_count: int
    reason: str | None = None  # why it was refused
    header_count: int | None = None  # dlq.replay.count sent


async def replay(sessions: async_sessionmaker[AsyncSession], dead_letter_id: int, *, actor: str, force: bool = False) -> ReplayOutcome:
    """Replay one dead letter to its original topic, or refuse and say why; both audited."""
    async with sessions.begin() as session:
        row = await session.scalar(select(DeadLetter).where(DeadLetter.id == dead_letter_id).with_for_update())
        if row is None:
            raise DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")
        return _replay_locked(session, row, actor=actor, force=force)


def _replay_locked(session: AsyncSession, row: DeadLetter, *, actor: str, force: bool) -> ReplayOutcome:
    reason = replay_refusal(
        row.status,
        force=force,
        original_topic=row.original_topic,
        has_value=row.value is not None,
        incoming_replay_count=row.incoming_replay_count,
    )
    if reason is not None:
        session.add(DeadLetterAudit(dead_letter_id=row.id, actor=actor, action="replay", result="refused", detail=reason))
        return ReplayOutcome(row.id, False, row.status, row.replay_count, reason=reason)
    assert row.original_topic is not None and row.value is not None
    count = next_replay_count(row.incoming_replay_count, row.replay_count)
    headers = replay_headers([(name, value) for name, value in row.headers], count)
    enqueue_raw(session, row.original_topic, key=row.key, value=row.value, headers=headers)
    previous = row.status
    row.status = STATUS_REPLAYED
    row.replay_count += 1
    row.last_replayed_at = datetime.now(UTC)
    detail = f"to {row.original_topic} with dlq.replay.count={count}" + (
        f" (forced, was {previous})" if force and previous != STATUS_NEW else ""
    )
    session.add(DeadLetterAudit(dead_letter_id=row.id, actor=actor, action="replay", result="replayed", detail=detail))
    return ReplayOutcome(row.id, True, row.status, row.replay_count, header_count=count)


@dataclass
class BulkOutcome:
    matched: int = 0
    replayed: int = 0
    refused: int = 0  # audited refusals (quarantined or resolved without force, nothing to replay)
    skipped: int = 0  # changed status since they were selected (e.g. another operator replayed them)


async def matching_ids(sessions: async_sessionmaker[AsyncSession], where: DeadLetterFilter) -> list[int]:
    async with sessions() as session:
        return list((await session.scalars(select(DeadLetter.id).where(*where.clauses()).order_by(DeadLetter.id))).all())


async def replay_many(
    sessions: async_sessionmaker[AsyncSession],
    where: DeadLetterFilter,
    *,
    actor: str,
    force: bool = False,
    progress: Callable[[ReplayOutcome], None] | None = None,
    ids: Sequence[int] | None = None,
) -> BulkOutcome:
    """Replay every dead letter matching ``where`` (``new`` ones unless a status is
    given), one transaction each, oldest first. Rows that changed status since they
    were selected (another operator replayed them) are left alone."""
    where = where.for_bulk_replay()
    chosen = list(ids) if ids is not None else await matching_ids(sessions, where)
    outcome = BulkOutcome(matched=len(chosen))
    for dead_letter_id in chosen:
        async with sessions.begin() as session:
            row = await session.scalar(where.query().where(DeadLetter.id == dead_letter_id).with_for_update())
            if row is None:
                result = ReplayOutcome(dead_letter_id, False, "changed", 0, reason="no longer matches the filter")
            else:
                result = _replay_locked(session, row, actor=actor, force=force)
        if result.replayed:
            outcome.replayed += 1
        elif row is None:
            outcome.skipped += 1
        else:
            outcome.refused += 1
        if progress is not None:
            progress(result)
    return outcome


async def resolve(sessions: async_sessionmaker[AsyncSession], dead_letter_id: int, *, actor: str, note: str | None = None) -> DeadLetter:
    """Mark a dead letter as dealt with (no replay needed); audited."""
    async with sessions.begin() as session:
        row = await session.scalar(select(DeadLetter).where(DeadLetter.id == dead_letter_id).with_for_update())
        if row is None:
            raise DeadLetterNotFound(f"dead letter {dead_letter_id} does not exist")
        previous = row.status
        row.status = STATUS_RESOLVED
        session.add(
            DeadLetterAudit(
                dead_letter_id=row.id,
                actor=actor,
                action="resolve",
                result=STATUS_RESOLVED,
                detail=f"was {previous}" + (f": {note}" if note else ""),
            )
        )
        return row
