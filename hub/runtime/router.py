"""The router: turns submitted requests into steps and agency reports into case state.

A partition's batch of bus messages is handled in one DB transaction: it claims every
message id at once, locks and loads the batch's cases and their steps in two queries,
applies each message in order (each state change with its history, each follow-up
command staged in the outbox), and writes it all in one flush and one commit. The
offsets are committed only after that transaction, so a crash at any point redelivers,
and the claims make the redelivery a no-op. A batch that fails (a poison message in it)
rolls back whole and its messages go one by one through :meth:`Router.handle`, the
same steps in a transaction of their own. What may start next and what the case's
status becomes is the workflow's rule (``hub/domain/workflow.py``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Case, Step, utcnow
from hub.domain.cases import claim_message, claim_messages, first_claims, load_case, record_refusal, transition
from hub.domain.workflow import Trace, Workflow, current_steps, plan
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
from messaging.tracing import current_traceparent, processing
from messaging.tracing import enabled as tracing_enabled
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType
from schemas.lifecycle import Status, can_transition
from schemas.messages import StepError, StepStatusReport
from schemas.validation import describe

log = logging.getLogger(__name__)

CONSUMER = "router"
GROUP_ID = "mpp-router"


Item = tuple[Envelope, ConsumerRecord[bytes, bytes]]


class Loaded:
    """The cases (locked) and steps one transaction works on: queried message by message
    in :meth:`Router.handle`, or all at once for a batch by :meth:`preload`. Later
    messages of a batch see what earlier ones changed, in memory."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._cases: dict[uuid.UUID, Case] = {}
        self._steps: dict[uuid.UUID, list[Step]] = {}  # by case, in creation order

    async def preload(self, case_ids: Sequence[uuid.UUID]) -> None:
        """Lock the cases in id order (two batches never wait on each other in a cycle)
        and load them with all their steps: two queries for the whole batch."""
        ids = sorted(set(case_ids))
        query = select(Case).where(Case.id.in_(ids)).order_by(Case.id).with_for_update()
        self._cases.update({case.id: case for case in await self.session.scalars(query)})
        self._steps.update({case_id: [] for case_id in self._cases})
        steps = await self.session.scalars(select(Step).where(Step.case_id.in_(ids)).order_by(Step.created_at, Step.name))
        for step in steps:
            self._steps[step.case_id].append(step)

    async def case(self, case_id: uuid.UUID) -> Case | None:
        if case_id not in self._cases:
            case = await load_case(self.session, case_id, for_update=True)
            if case is None:
                return None
            self._cases[case_id] = case
        return self._cases[case_id]

    async def step(self, step_id: uuid.UUID) -> Step | None:
        return await self.session.get(Step, step_id)  # preloaded: from the identity map, no query

    def planned(self, case: Case, steps: list[Step]) -> None:
        """A new case's steps, stamped as their column default would, to be written with the rest."""
        for step in steps:
            step.created_at = utcnow()
        self.session.add_all(steps)
        self._steps[case.id] = sorted(steps, key=lambda s: (s.created_at, s.name))

    async def live_steps(self, case: Case) -> list[Step]:
        """What :func:`current_steps` returns, without a query when the steps are loaded."""
        if case.id not in self._steps:
            return await current_steps(self.session, case)
        return [s for s in self._steps[case.id] if s.superseded_by is None]


class Router:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], workflow: Workflow) -> None:
        self._sessions = sessions
        self._workflow = workflow

    async def handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        """One message in a transaction of its own (the loop's single-record path)."""
        async with self._sessions.begin() as session:
            if not await claim_message(session, CONSUMER, envelope.message_id):
                return
            await self._apply(Loaded(session), envelope, _trace(envelope, record), speaker=_speaker(record))

    async def handle_batch(self, items: Sequence[Item]) -> None:
        """One partition's records, in order, in one transaction; any error rolls all of
        it back (the loop then hands the records to :meth:`handle` one by one)."""
        async with self._sessions.begin() as session:
            claimed = await claim_messages(session, CONSUMER, [envelope.message_id for envelope, _ in items])
            fresh = [items[i] for i in first_claims([envelope.message_id for envelope, _ in items], claimed)]
            if not fresh:
                return  # a redelivered batch: all of it was applied before
            loaded = Loaded(session)
            await loaded.preload([envelope.request_id for envelope, _ in fresh])
            for envelope, record in fresh:
                with processing(record, GROUP_ID):  # each message's own log context and span
                    await self._apply(loaded, envelope, _trace(envelope, record), speaker=_speaker(record))
                    if tracing_enabled():
                        await session.flush()  # a traced message's writes show under its own span

    async def _apply(self, loaded: Loaded, envelope: Envelope, trace: Trace, *, speaker: str | None) -> None:
        """``speaker``: the agency whose report topic the record came from (None: not a report topic)."""
        if envelope.type is MessageType.REQUEST_SUBMITTED:
            await self._route(loaded, envelope, trace)
        elif envelope.type is MessageType.STEP_STATUS:
            await self._apply_report(loaded, envelope, trace, speaker=speaker)
        else:
            raise PoisonMessage(f"router does not handle {envelope.type}")

    async def _route(self, loaded: Loaded, envelope: Envelope, trace: Trace) -> None:
        session = loaded.session
        case = await loaded.case(envelope.request_id)
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
        loaded.planned(case, steps)
        # the case follows its steps
        await self._workflow.advance(session, case, message_id=envelope.message_id, trace=trace, steps=await loaded.live_steps(case))

    async def _apply_report(self, loaded: Loaded, envelope: Envelope, trace: Trace, *, speaker: str | None) -> None:
        session = loaded.session
        try:
            report = StepStatusReport.model_validate(envelope.payload)
        except ValidationError as exc:
            raise PoisonMessage("invalid step.status payload") from exc
        step = await loaded.step(envelope.step_id) if envelope.step_id else None
        if step is None or step.case_id != envelope.request_id:
            raise PoisonMessage(f"step {envelope.step_id} of request {envelope.request_id} is unknown")
        if speaker != step.agency:
            # Only an agency's own adapter may write its report topic (broker ACLs): a report
            # for another agency's step is forged or misrouted; dead-lettered, never applied.
            raise PoisonMessage(f"report from {speaker or 'an unknown topic'} for step {step.id} of {step.agency} refused")
        case = await loaded.case(step.case_id)
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
        await self._workflow.advance(session, case, message_id=envelope.message_id, trace=trace, steps=await loaded.live_steps(case))

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


def _speaker(record: ConsumerRecord[bytes, bytes]) -> str | None:
    """The agency whose report topic ``record`` came from (the broker's ACLs let only its adapter write there)."""
    return topics.agency_of_events(record.topic)


def _trace(envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> Trace:
    return Trace(
        correlation_id=header(record, Headers.CORRELATION_ID) or str(envelope.request_id),
        traceparent=current_traceparent(header(record, Headers.TRACEPARENT)),
    )


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
        router = Router(sessions, workflow)
        loop = ConsumeLoop(
            consumer,
            [topics.REQUESTS, *(topics.events(agency) for agency in sorted(workflow.catalogue.providers()))],
            router.handle,
            name=CONSUMER,
            decoder=decode_envelope,
            failures=FailurePolicy(poison=DeadLetters(producer, CONSUMER).publish),
            batch_size=kafka.consumer_batch_size,
            batch_handler=router.handle_batch,
        )
        async with started(consumer):
            await loop.run(stop)
