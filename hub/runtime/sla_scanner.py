"""The SLA breach scanner: flags live steps past their deadline, once each.

Each round it finds the live steps past their deadline that are not flagged yet, and
in one transaction per round sets ``Step.sla_breached_at`` (and
``Case.sla_breached_at`` at the case's first breach), appends a history row (a flag,
not a status change: from = to = the current status) and stages a
``case.sla_breached`` event for ``mpp.case-events`` through the outbox. Rows are
locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, steps and their cases in one
statement, so concurrent scanners flag each breach once and a scanner never waits on
the router (no lock-order deadlock): what is locked now is flagged in a later round.
How deadlines are computed: ``hub/domain/sla.py``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Case, Step
from hub.domain.cases import record_note
from hub.domain.outbox import enqueue
from hub.runtime.periodic import run_rounds
from schemas import topics
from schemas.calendar import WorkingCalendar
from schemas.envelope import Envelope, MessageType, new_traceparent
from schemas.lifecycle import TERMINAL

log = logging.getLogger(__name__)

SOURCE = "sla-scanner"
#: Namespace of the breach events' message ids: one id per step, so a breach event can
#: never be staged twice (the outbox's message id is unique) and consumers dedup on it.
_BREACH_NAMESPACE = uuid.UUID("6f1d3c52-9a57-4e8e-8b0f-5a1c0e7d2b61")

_TERMINAL_VALUES = sorted(s.value for s in TERMINAL)


def breach_message_id(step_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_BREACH_NAMESPACE, f"sla-breached:{step_id}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SlaScanner:
    """Flags live steps past their SLA deadline, once each, with history and an event."""

    sessions: async_sessionmaker[AsyncSession]
    calendar: WorkingCalendar
    clock: Callable[[], datetime] = _utc_now
    _: KW_ONLY
    batch_size: int = 100
    flagged: int = field(default=0, init=False)

    async def scan(self) -> int:
        """One round: flag every overdue step found (up to ``batch_size``); returns how many."""
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the scanner's clock must return timezone-aware datetimes")
        async with self.sessions.begin() as session:
            rows = (
                await session.execute(
                    select(Step, Case)
                    .join(Case, Case.id == Step.case_id)
                    .where(
                        Step.sla_due_at.is_not(None),
                        Step.sla_due_at < now,
                        Step.sla_breached_at.is_(None),
                        Step.superseded_by.is_(None),
                        Step.status.not_in(_TERMINAL_VALUES),
                        # A finished case's leftover steps are not the citizen's wait any more.
                        Case.status.not_in(_TERMINAL_VALUES),
                    )
                    .order_by(Step.sla_due_at, Step.id)
                    .limit(self.batch_size)
                    # Locks the steps and their cases; skips what the router holds now.
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for step, case in rows:
                self._flag(session, step, case, now)
        self.flagged += len(rows)
        return len(rows)

    def _flag(self, session: AsyncSession, step: Step, case: Case, now: datetime) -> None:
        assert step.sla_due_at is not None
        step.sla_breached_at = now
        if case.sla_breached_at is None:
            case.sla_breached_at = now
        due_local = step.sla_due_at.astimezone(self.calendar.tz)
        record_note(session, step, f"SLA breached: due {due_local.isoformat()}, {step.service} at {step.agency}")
        # Ids, service and agency only: no personal data leaves on this topic.
        payload = {
            "case_id": str(case.id),
            "step_id": str(step.id),
            "service": step.service,
            "agency": step.agency,
            "due_at": step.sla_due_at.astimezone(UTC).isoformat(),
            "breached_at": now.astimezone(UTC).isoformat(),
        }
        enqueue(
            session,
            topics.CASE_EVENTS,
            Envelope(
                message_id=breach_message_id(step.id),
                request_id=case.id,
                step_id=step.id,
                type=MessageType.SLA_BREACHED,
                occurred_at=now,
                source=SOURCE,
                payload=payload,
            ),
            correlation_id=str(case.id),
            traceparent=case.traceparent or new_traceparent(),  # the breach joins the case's trace
        )
        log.info(
            "SLA breached: step %s of case %s (%s at %s) was due %s", step.id, case.id, step.service, step.agency, due_local.isoformat()
        )

    async def run(self, stop: asyncio.Event, interval_seconds: float = 1.0) -> None:
        await run_rounds("SLA scanner", self.scan, stop, interval_seconds=interval_seconds, backlog=self.batch_size)
