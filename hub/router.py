"""The router: turns submitted requests into step commands and agency reports into
case state.

Each bus message is handled in one DB transaction that claims its message id, applies
the state change with its history, and stages any follow-up messages in the outbox.
The offset is committed only after that transaction, so a crash at any point
redelivers, and the claim makes the redelivery a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.sdk.bus import ConsumeLoop, DeadLetters, create_consumer, create_producer, header
from adapters.sdk.errors import PoisonMessage
from hub.cases import claim_message, load_case, record_refusal, transition
from hub.catalogue import Catalogue
from hub.db.models import Case, Step
from hub.outbox import enqueue
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType, new_traceparent
from schemas.lifecycle import Status, can_transition
from schemas.messages import Applicant, StepCommand, StepError, StepStatusReport

log = logging.getLogger(__name__)

CONSUMER = "router"
GROUP_ID = "mpp-router"


class Router:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], catalogue: Catalogue) -> None:
        self._sessions = sessions
        self._catalogue = catalogue

    async def handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        trace = _Trace(
            correlation_id=header(record, Headers.CORRELATION_ID) or str(envelope.request_id),
            traceparent=header(record, Headers.TRACEPARENT) or new_traceparent(),
        )
        async with self._sessions.begin() as session:
            if not await claim_message(session, CONSUMER, envelope.message_id):
                return
            if envelope.type is MessageType.REQUEST_SUBMITTED:
                await self._route(session, envelope, trace)
            elif envelope.type is MessageType.STEP_STATUS:
                await self._apply_report(session, envelope)
            else:
                raise PoisonMessage(f"router does not handle {envelope.type}")

    async def _route(self, session: AsyncSession, envelope: Envelope, trace: _Trace) -> None:
        case = await load_case(session, envelope.request_id, for_update=True)
        if case is None:
            raise PoisonMessage(f"request {envelope.request_id} is not in the database")
        if case.status != Status.SUBMITTED:
            return
        service = self._catalogue.get(case.service)
        if service is None:
            case.error = StepError(code="service_withdrawn", message=f"service {case.service!r} left the catalogue").model_dump()
            transition(session, case, Status.FAILED, note="service not in catalogue", message_id=envelope.message_id)
            return
        step = Step(
            id=uuid.uuid4(),
            case_id=case.id,
            service=service.code,
            agency=service.provider,
            operation=service.operation,
            status=Status.SUBMITTED.value,
            inputs=case.data,
        )
        session.add(step)
        transition(session, step, Status.ROUTED, note=f"to {service.provider}", message_id=envelope.message_id)
        transition(session, case, Status.ROUTED, message_id=envelope.message_id)
        command = StepCommand(
            service=service.code,
            operation=service.operation,
            applicant=Applicant.model_validate(case.applicant),
            data=case.data,
        )
        enqueue(
            session,
            topics.commands(service.provider),
            Envelope(
                request_id=case.id,
                step_id=step.id,
                type=MessageType.STEP_COMMAND,
                source="router",
                payload=command.model_dump(mode="json"),
            ),
            correlation_id=trace.correlation_id,
            traceparent=trace.traceparent,
        )

    async def _apply_report(self, session: AsyncSession, envelope: Envelope) -> None:
        try:
            report = StepStatusReport.model_validate(envelope.payload)
        except ValidationError as exc:
            raise PoisonMessage("invalid step.status payload") from exc
        step = await session.get(Step, envelope.step_id) if envelope.step_id else None
        if step is None or step.case_id != envelope.request_id:
            raise PoisonMessage(f"step {envelope.step_id} of request {envelope.request_id} is unknown")
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
            record_refusal(session, step, new, note=f"illegal transition {current} -> {new} from {envelope.source}", message_id=envelope.message_id)
            log.warning("refused %s -> %s for step %s", current, new, step.id)
            return
        error = report.error
        if new is Status.COMPLETED:
            error = self._check_outputs(step, report)
            if error is not None:
                new = Status.FAILED
        step.outputs = report.outputs if error is None else {}
        step.error = error.model_dump() if error else None
        step.agency_status = report.agency_status
        transition(session, step, new, note=_note(envelope, error), message_id=envelope.message_id)
        self._follow_step(session, case, step, new, envelope.message_id)

    def _check_outputs(self, step: Step, report: StepStatusReport) -> StepError | None:
        """An agency's success answer must still fit the canonical output model."""
        service = self._catalogue.get(step.service)
        if service is None:
            return None
        try:
            service.payloads.output.model_validate(report.outputs)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)[:5])
            return StepError(code="agency_output_invalid", message=f"outputs do not match {step.service}: {fields}")
        return None

    @staticmethod
    def _follow_step(session: AsyncSession, case: Case, step: Step, new: Status, message_id: uuid.UUID) -> None:
        """A single-step case mirrors its step."""
        if can_transition(Status(case.status), new):
            case.outputs = step.outputs
            case.error = step.error
            transition(session, case, new, message_id=message_id)


def _schedule_poll(step: Step, report: StepStatusReport) -> None:
    """Polling backends say when to ask again; any final status ends the polling."""
    if report.poll_after_seconds is not None and not report.status.is_terminal:
        step.next_poll_at = datetime.now(UTC) + timedelta(seconds=report.poll_after_seconds)
    else:
        step.next_poll_at = None


class _Trace:
    __slots__ = ("correlation_id", "traceparent")

    def __init__(self, correlation_id: str, traceparent: str) -> None:
        self.correlation_id = correlation_id
        self.traceparent = traceparent


def _note(envelope: Envelope, error: StepError | None) -> str:
    return f"{envelope.source}: {error.code}: {error.message}" if error else envelope.source


async def run_router(sessions: async_sessionmaker[AsyncSession], catalogue: Catalogue, bootstrap: str, stop: asyncio.Event, *, batch_size: int = 200) -> None:
    producer = create_producer(bootstrap)  # for dead letters only; follow-ups go via the outbox
    consumer = create_consumer(bootstrap, GROUP_ID, [topics.REQUESTS, topics.EVENTS])
    await producer.start()
    try:
        await consumer.start()
        try:
            loop = ConsumeLoop(consumer, Router(sessions, catalogue).handle, DeadLetters(producer, CONSUMER), name=CONSUMER, batch_size=batch_size)
            await loop.run(stop)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
