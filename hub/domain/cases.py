"""Writing cases and steps: every status change goes with its history row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def load_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()
