"""Cases as small DAGs of steps: planning a case, and applying what the engine decides.

What may start, what is skipped and what the case's status becomes is decided by the
pure engine (``hub/domain/engine.py``) over a snapshot of the case; :class:`Workflow`
takes that snapshot and writes the decisions in the caller's session (each status
change with its history row, each command in the outbox). The router (agency reports
move steps) and the API (cancel, resubmit a revised step) both go through it, so they
apply exactly the same rules inside their own transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalogue import Catalogue, Source
from hub.db.models import Case, Step
from hub.domain import decisions as d
from hub.domain.cases import record_note, transition
from hub.domain.engine import decide, decide_cancel
from hub.domain.outbox import enqueue
from hub.domain.sla import calendar_from_settings, deadline_for
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCancel, StepCommand

if TYPE_CHECKING:
    from hub.config import SlaSettings

#: Computes a step's SLA deadline from when it starts and its SLA in working days.
Deadline = Callable[[datetime, float], datetime]


@dataclass(frozen=True)
class Trace:
    correlation_id: str
    traceparent: str


# ---------------------------------------------------------------- planning


def plan(case: Case, catalogue: Catalogue) -> list[Step]:
    """The steps of a new case, all waiting (SUBMITTED) until ``advance`` starts them."""
    composite = catalogue.composite(case.service)
    # (step name, service, steps it waits for, where its inputs come from, its own inputs)
    specs: list[tuple[str, str, list[str], dict[str, Source] | None, dict[str, Any]]]
    if composite is not None:
        specs = [(s.name, s.service, list(s.after), dict(s.inputs), {}) for s in composite.steps]
    elif case.kind == "bundle":
        specs = [(f"item{i + 1}", item["service"], [], None, item["data"]) for i, item in enumerate(case.data["items"])]
    else:
        specs = [("main", case.service, [], None, case.data)]
    steps = []
    for name, code, after, mapping, inputs in specs:
        service = catalogue.get(code)
        if service is None:
            raise LookupError(f"service {code!r} of {case.service!r} is not in the catalogue")
        steps.append(
            Step(
                id=uuid.uuid4(),
                case_id=case.id,
                name=name,
                depends_on=after,
                input_mapping=mapping,
                service=code,
                agency=service.provider,
                operation=service.operation,
                status=Status.SUBMITTED.value,
                inputs=inputs,
            )
        )
    return steps


async def current_steps(session: AsyncSession, case: Case) -> list[Step]:
    """The case's live steps (a revised step replaces its predecessor), in creation order."""
    steps = (await session.scalars(select(Step).where(Step.case_id == case.id).order_by(Step.created_at, Step.name))).all()
    return [s for s in steps if s.superseded_by is None]


# ---------------------------------------------------------------- deciding and applying


def snapshot(case: Case, steps: Sequence[Step]) -> d.CaseState:
    """The case and its live steps as the plain values the engine decides on."""
    return d.CaseState(
        kind=case.kind,
        status=Status(case.status),
        data=case.data,
        applicant=case.applicant,
        outputs=case.outputs,
        error=case.error,
        steps=tuple(
            d.StepState(
                name=s.name,
                service=s.service,
                agency=s.agency,
                status=Status(s.status),
                depends_on=tuple(s.depends_on or ()),
                input_mapping=s.input_mapping,
                inputs=s.inputs,
                outputs=s.outputs or {},
                error=s.error,
            )
            for s in steps
        ),
    )


class Workflow:
    def __init__(
        self, catalogue: Catalogue, *, deadline: Deadline | None = None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.catalogue = catalogue
        self.deadline = deadline
        self.now = now

    async def advance(
        self, session: AsyncSession, case: Case, *, message_id: uuid.UUID | None, trace: Trace, steps: Sequence[Step] | None = None
    ) -> None:
        """Decide what follows from the case's current steps (``steps`` when the caller
        has them already, as the router does for a batch), and apply it."""
        if Status(case.status).is_terminal:
            return  # nothing follows a final case (spares the query)
        if steps is None:
            steps = await current_steps(session, case)
        self.apply(session, case, steps, decide(snapshot(case, steps), self.catalogue), message_id=message_id, trace=trace)

    def cancel(self, session: AsyncSession, case: Case, steps: list[Step], *, reason: str, trace: Trace) -> None:
        """The citizen cancels (see :func:`hub.domain.engine.decide_cancel`)."""
        self.apply(session, case, steps, decide_cancel(snapshot(case, steps), self.catalogue, reason=reason), message_id=None, trace=trace)

    def apply(
        self,
        session: AsyncSession,
        case: Case,
        steps: Sequence[Step],
        decisions: Sequence[d.Decision],
        *,
        message_id: uuid.UUID | None,
        trace: Trace,
    ) -> None:
        """Write ``decisions`` (about ``case`` and its live ``steps``) in the caller's transaction."""
        by_name = {s.name: s for s in steps}
        for decision in decisions:
            match decision:
                case d.StartStep():
                    self._start(session, case, by_name[decision.step], decision, message_id=message_id, trace=trace)
                case d.FailStep():
                    step = by_name[decision.step]
                    step.error = dict(decision.error)
                    transition(session, step, Status.FAILED, note=decision.note, message_id=message_id)
                case d.SkipStep():
                    transition(session, by_name[decision.step], Status.CANCELLED, note=decision.note, message_id=message_id)
                case d.RequestCancel():
                    self._request_cancel(session, case, by_name[decision.step], decision, trace=trace)
                case d.NoteStep():
                    record_note(session, by_name[decision.step], decision.note)
                case d.SetCaseResult():
                    case.outputs = dict(decision.outputs)
                    case.error = dict(decision.error) if decision.error is not None else None
                case d.SetCaseStatus():
                    transition(session, case, decision.status, note=decision.note, message_id=message_id)

    def _start(
        self, session: AsyncSession, case: Case, step: Step, decision: d.StartStep, *, message_id: uuid.UUID | None, trace: Trace
    ) -> None:
        """The step is ROUTED, its SLA clock starts, and its command goes out with the transaction."""
        step.inputs = dict(decision.inputs)
        transition(session, step, Status.ROUTED, note=decision.note, message_id=message_id)
        if self.deadline is not None:
            step.sla_due_at = self.deadline(self.now(), decision.sla_working_days)
        command = _command(case, decision.service, decision.operation, step.inputs)
        _send(session, case, step, decision.agency, MessageType.STEP_COMMAND, "router", command, trace)

    def _request_cancel(self, session: AsyncSession, case: Case, step: Step, decision: d.RequestCancel, *, trace: Trace) -> None:
        cancel = StepCancel(
            command=_command(case, step.service, step.operation, step.inputs), agency_ref=step.agency_ref, reason=decision.reason
        )
        _send(session, case, step, decision.agency, MessageType.STEP_CANCEL, "api", cancel, trace)
        record_note(session, step, decision.note)


def _command(case: Case, service: str, operation: str, data: dict[str, Any]) -> StepCommand:
    """What the agency is asked to do for ``case``'s applicant."""
    return StepCommand(service=service, operation=operation, applicant=Applicant.model_validate(case.applicant), data=data)


def _send(
    session: AsyncSession, case: Case, step: Step, agency: str, kind: MessageType, source: str, payload: BaseModel, trace: Trace
) -> None:
    """``payload`` about ``step`` onto ``agency``'s command topic, with the caller's transaction."""
    envelope = Envelope(request_id=case.id, step_id=step.id, type=kind, source=source, payload=payload.model_dump(mode="json"))
    enqueue(session, topics.commands(agency), envelope, correlation_id=trace.correlation_id, traceparent=trace.traceparent)


def make_workflow(sla: SlaSettings, catalogue: Catalogue) -> Workflow:
    """The workflow of one hub process, with SLA deadlines from the configured calendar."""
    calendar = calendar_from_settings(sla)
    return Workflow(catalogue, deadline=lambda start, days: deadline_for(calendar, start, days))
