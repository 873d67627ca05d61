"""The router: turns submitted requests into steps and agency reports into case state.

Each bus message is handled in one DB transaction that claims its message id, applies
the state change with its history, and stages any follow-up commands in the outbox.
The offset is committed only after that transaction, so a crash at any point
redelivers, and the claim makes the redelivery a no-op. What may start next and what
the case's status becomes is the workflow's rule (``hub/domain/workflow.py``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Step
from hub.domain.cases import claim_message, load_case, record_refusal, transition
from hub.domain.workflow import Trace, Workflow, plan
from messaging import (
    ConsumeLoop,
    DeadLetters,
    FailurePolicy,
    KafkaSettings,
    PoisonMessage,
    create_consumer,
    create_producer,
    decode_envelope,
    header,
    started,
)
from messaging.tracing import current_traceparent
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType
from schemas.lifecycle import Status, can_transition
from schemas.messages import StepError, StepStatusReport
from schemas.validation import describe

log = logging.getLogger(__name__)

CONSUMER = "router"
GROUP_ID = "mpp-router"


class Router:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], workflow: Workflow) -> None:
        self._sessions = sessions
        self._workflow = workflow

    async def handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        trace = Trace(
            correlation_id=header(record, Headers.CORRELATION_ID) or str(envelope.request_id),
            traceparent=current_traceparent(header(record, Headers.TRACEPARENT)),
        )
        async with self._sessions.begin() as session:
            if not await claim_message(session, CONSUMER, envelope.message_id):
                return
            if envelope.type is MessageType.REQUEST_SUBMITTED:
                await self._route(session, envelope, trace)
            elif envelope.type is MessageType.STEP_STATUS:
                await self._apply_report(session, envelope, trace, speaker=topics.agency_of_events(record.topic))
            else:
                raise PoisonMessage(f"router does not handle {envelope.type}")

    async def _route(self, session: AsyncSession, envelope: Envelope, trace: Trace) -> None:
        case = await load_case(session, envelope.request_id, for_update=True)
        if case is None:
            raise PoisonMessage(f"request {envelope.request_id} is not in the database")
        if case.status != Status.SUBMITTED:
            return
        try:
            steps = plan(case, self._workflow.catalogue)
        except LookupError as exc:
            case.error = StepError(code="service_withdrawn", message=str(exc)).model_dump()
            transition(session, case, Status.FAILED, note="service not in catalogue", message_id=envelope.message_id)
            return
        session.add_all(steps)
        await session.flush()
        await self._workflow.advance(session, case, message_id=envelope.message_id, trace=trace)  # the case follows its steps

    async def _apply_report(self, session: AsyncSession, envelope: Envelope, trace: Trace, *, speaker: str | None) -> None:
        try:
            report = StepStatusReport.model_validate(envelope.payload)
        except ValidationError as exc:
            raise PoisonMessage("invalid step.status payload") from exc
        step = await session.get(Step, envelope.step_id) if envelope.step_id else None
        if step is None or step.case_id != envelope.request_id:
            raise PoisonMessage(f"step {envelope.step_id} of request {envelope.request_id} is unknown")
        if speaker != step.agency:
            # Only an agency's own adapter may write its report topic (broker ACLs): a report
            # for another agency's step is forged or misrouted; dead-lettered, never applied.
            raise PoisonMessage(f"report from {speaker or 'an unknown topic'} for step {step.id} of {step.agency} refused")
        case = await load_case(session, step.case_id, for_update=True)
        assert case is not None  # foreign key
        current, new = Status(step.status), report.status
        if not current.is_terminal:
            _schedule_poll(step, report)
        if report.agency_ref:
            step.agency_ref = report.agency_ref
        if new is current and not new.is_terminal:
            step.agency_status = report.agency_status  # still in progress (a poll answer): no transition
            return
        if not can_transition(current, new):
            record_refusal(
                session, step, new, note=f"illegal transition {current} -> {new} from {envelope.source}", message_id=envelope.message_id
            )
            log.warning("refused %s -> %s for step %s", current, new, step.id)
            return
        error = report.error
        if new is Status.COMPLETED:
            error = self._check_outputs(step, report)
            if error is not None:
                new = Status.FAILED
        # A failed step keeps no outputs; a returned one keeps what the agency says to correct.
        step.outputs = report.outputs if error is None or new is Status.NEEDS_REVISION else {}
        step.error = error.model_dump() if error else None
        step.agency_status = report.agency_status
        transition(session, step, new, note=_note(envelope, error), message_id=envelope.message_id)
        await self._workflow.advance(session, case, message_id=envelope.message_id, trace=trace)

    def _check_outputs(self, step: Step, report: StepStatusReport) -> StepError | None:
        """An agency's success answer must still fit the canonical output model."""
        service = self._workflow.catalogue.get(step.service)
        if service is None:
            return None
        try:
            service.payloads.output.model_validate(report.outputs)
        except ValidationError as exc:
            return StepError(code="agency_output_invalid", message=f"outputs do not match {step.service}: {describe(exc, root='outputs')}")
        return None


def _schedule_poll(step: Step, report: StepStatusReport) -> None:
    """Polling backends say when to ask again; any final status ends the polling."""
    if report.poll_after_seconds is not None and not report.status.is_terminal:
        step.next_poll_at = datetime.now(UTC) + timedelta(seconds=report.poll_after_seconds)
    else:
        step.next_poll_at = None


def _note(envelope: Envelope, error: StepError | None) -> str:
    return f"{envelope.source}: {error.code}: {error.message}" if error else envelope.source


async def run_router(sessions: async_sessionmaker[AsyncSession], workflow: Workflow, kafka: KafkaSettings, stop: asyncio.Event) -> None:
    """The router as a configuration of the one consume loop: envelopes from requests
    and events; poison to dead letters (the producer is for them alone: follow-ups go
    through the outbox)."""
    async with started(create_producer(kafka)) as producer:
        consumer = create_consumer(kafka, GROUP_ID)
        loop = ConsumeLoop(
            consumer,
            [topics.REQUESTS, *(topics.events(agency) for agency in sorted(workflow.catalogue.providers()))],
            Router(sessions, workflow).handle,
            name=CONSUMER,
            decoder=decode_envelope,
            failures=FailurePolicy(poison=DeadLetters(producer, CONSUMER).publish),
            batch_size=kafka.consumer_batch_size,
        )
        async with started(consumer):
            await loop.run(stop)
