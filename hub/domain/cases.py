"""Writing cases and steps: every status change goes with its history row."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

import hub.features.audit.chain  # noqa: F401  (every history row joins the audit chain at commit)
from hub.db.models import Case, HistoryRecord, ProcessedMessage, Step
from schemas.lifecycle import Status


def transition(
    session: AsyncSession,
    target: Case | Step,
    new: Status,
    *,
    note: str | None = None,
    message_id: uuid.UUID | None = None,
) -> None:
    """Move a case or step to ``new`` and append the audit entry, in the caller's transaction."""
    old = target.status
    target.status = new.value
    target.updated_at = datetime.now(UTC)
    case_id, step_id = (target.case_id, target.id) if isinstance(target, Step) else (target.id, None)
    session.add(
        HistoryRecord(
            case_id=case_id,
            step_id=step_id,
            from_status=old,
            to_status=new.value,
            note=note,
            message_id=message_id,
        )
    )


def record_note(session: AsyncSession, step: Step, note: str) -> None:
    """An audit entry about a step that does not change its status."""
    session.add(HistoryRecord(case_id=step.case_id, step_id=step.id, from_status=step.status, to_status=step.status, note=note))


def record_refusal(session: AsyncSession, step: Step, attempted: Status, *, note: str, message_id: uuid.UUID) -> None:
    """Keep an audit entry of a transition that was refused, without applying it."""
    session.add(
        HistoryRecord(
            case_id=step.case_id,
            step_id=step.id,
            from_status=step.status,
            to_status=attempted.value,
            note=f"refused: {note}",
            message_id=message_id,
        )
    )


async def claim_message(session: AsyncSession, consumer: str, message_id: uuid.UUID) -> bool:
    """Record that ``consumer`` handles ``message_id`` now; False if it already did.

    The insert is flushed inside the caller's transaction, so the claim commits or
    rolls back together with the state change it guards.
    """
    if await session.get(ProcessedMessage, (consumer, message_id)) is not None:
        return False
    # A concurrent delivery (rebalance overlap) makes this flush or the commit fail on
    # the primary key; the whole transaction rolls back and the redelivery skips.
    session.add(ProcessedMessage(consumer=consumer, message_id=message_id))
    await session.flush()
    return True


async def claim_messages(session: AsyncSession, consumer: str, message_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Claim every id of a batch in one statement; returns the ids ``consumer`` had not
    handled before. Like :func:`claim_message`, the claims commit or roll back with the
    state changes they guard. A concurrent claim of the same id (a rebalance overlap)
    waits for the other transaction and then claims nothing."""
    if not message_ids:
        return set()
    statement = claim_statement(session.get_bind().dialect.name, consumer, message_ids)
    claimed = (await session.scalars(statement)).all()
    return set(cast("Sequence[uuid.UUID]", claimed))  # the dialect-chosen insert loses the column's type


def claim_statement(dialect: str, consumer: str, message_ids: Sequence[uuid.UUID]) -> ReturningInsert[tuple[uuid.UUID]]:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING message_id`` (PostgreSQL, SQLite ≥ 3.35)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"consumer": consumer, "message_id": message_id} for message_id in dict.fromkeys(message_ids)]
    return insert(ProcessedMessage).values(rows).on_conflict_do_nothing().returning(ProcessedMessage.message_id)


def first_claims(message_ids: Sequence[uuid.UUID], claimed: Collection[uuid.UUID]) -> list[int]:
    """Positions in a batch to apply: each claimed id once, at its first occurrence
    (the outbox may have published a message twice), in batch order."""
    seen: set[uuid.UUID] = set()
    positions = []
    for position, message_id in enumerate(message_ids):
        if message_id in claimed and message_id not in seen:
            seen.add(message_id)
            positions.append(position)
    return positions


async def load_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()
