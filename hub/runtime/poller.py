"""The poller: asks polling backends (e.g. Imigrasi) about steps they accepted.

Due polls are found in the database and sent as ``step.poll`` commands through the
outbox, so a crash never loses a poll: the schedule is data. Each poll leases the
step for ``lease_seconds``: if no answer comes back (adapter down, reply lost), the
step becomes due again and is polled once more.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Step
from hub.domain.cases import load_case
from hub.domain.outbox import enqueue
from hub.runtime.periodic import run_rounds
from schemas import topics
from schemas.envelope import Envelope, MessageType, new_traceparent
from schemas.messages import Applicant, StepCommand, StepPoll

log = logging.getLogger(__name__)


class Poller:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, lease_seconds: float = 60.0, batch_size: int = 100) -> None:
        self._sessions = sessions
        self._lease = timedelta(seconds=lease_seconds)
        self._batch_size = batch_size

    async def poll_due(self) -> int:
        """Send one poll for each due step; returns how many."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            steps = (
                await session.scalars(
                    select(Step)
                    .where(Step.next_poll_at.is_not(None), Step.next_poll_at <= now)
                    .order_by(Step.next_poll_at)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for step in steps:
                case = await load_case(session, step.case_id)
                assert case is not None
                step.poll_attempts += 1
                step.next_poll_at = now + self._lease
                if not step.agency_ref:
                    log.error("step %s is due for polling but has no agency reference; not polled", step.id)
                    step.next_poll_at = None
                    continue
                poll = StepPoll(
                    command=StepCommand(
                        service=step.service,
                        operation=step.operation,
                        applicant=Applicant.model_validate(case.applicant),
                        data=step.inputs,
                    ),
                    agency_ref=step.agency_ref,
                    attempt=step.poll_attempts,
                )
                enqueue(
                    session,
                    topics.commands(step.agency),
                    Envelope(
                        request_id=case.id,
                        step_id=step.id,
                        type=MessageType.STEP_POLL,
                        source="poller",
                        payload=poll.model_dump(mode="json"),
                    ),
                    correlation_id=str(case.id),
                    traceparent=case.traceparent or new_traceparent(),  # polls join the case's trace
                )
        return len(steps)

    async def run(self, stop: asyncio.Event, *, interval_seconds: float = 0.5) -> None:
        await run_rounds("poller", self.poll_due, stop, interval_seconds=interval_seconds)
