"""Cases as small DAGs of steps: which step may start, with what inputs, and what the
case's status is given its steps'.

Shared by the router (agency reports move steps) and the API (cancel, resubmit a
revised step), so both apply exactly the same rules inside their own transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.cases import record_note, transition
from hub.catalogue import Catalogue, Composite, Source
from hub.db.models import Case, Step
from hub.domain.outbox import enqueue
from hub.domain.sla import calendar_from_settings, deadline_for
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status, can_transition
from schemas.messages import Applicant, StepCancel, StepCommand, StepError

if TYPE_CHECKING:
    from hub.config import SlaSettings

#: Computes a step's SLA deadline from when it starts and its SLA in working days.
Deadline = Callable[[datetime, float], datetime]


@dataclass(frozen=True)
class Trace:
    correlation_id: str
    traceparent: str


@dataclass(frozen=True)
class FieldProblem:
    """An input problem located in the portal's request (``data.plate``), not in a step."""

    loc: tuple[str | int, ...]
    type: str
    message: str


class MissingSource(LookupError):
    pass


# ---------------------------------------------------------------- inputs


def _lookup(root: Any, path: list[str], source: str) -> Any:
    value = root
    for part in path:
        if not isinstance(value, dict) or part not in value:
            raise MissingSource(f"{source} is not available")
        value = value[part]
    return value


def resolve(source: Source, case_data: dict[str, Any], applicant: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> Any:
    if isinstance(source, dict):
        return source["value"]
    head, _, rest = source.partition(".")
    if head == "data":
        return _lookup(case_data, rest.split("."), source)
    if head == "applicant":
        return _lookup(applicant, rest.split("."), source)
    step_name, _, path = rest.partition(".outputs.")
    return _lookup(outputs.get(step_name, {}), path.split(".") if path else [], source)


def check_composite_request(composite: Composite, catalogue: Catalogue, data: dict[str, Any], applicant: dict[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Validate a composite request's ``data`` against every step that uses it, before
    anything starts. Fields fed by earlier steps' outputs are not known yet and are
    skipped; everything else must be right now. Returns normalised data and problems
    located as ``data.<field>``."""
    problems: dict[tuple[str | int, ...], FieldProblem] = {}
    normalised = dict(data)
    for field in sorted(set(data) - set(composite.data_fields())):
        problems[("data", field)] = FieldProblem(("data", field), "extra_forbidden", f"{composite.code} does not use {field!r}")
    for step in composite.steps:
        service = catalogue.get(step.service)
        assert service is not None  # checked when the catalogue loaded
        partial: dict[str, Any] = {}
        origin: dict[str, tuple[str | int, ...]] = {}
        for target, source in step.inputs.items():
            if isinstance(source, str) and source.startswith("steps."):
                continue
            try:
                partial[target] = resolve(source, data, applicant, {})
            except MissingSource:
                continue  # reported as "missing" by the model, at the request's path
            finally:
                if isinstance(source, str):
                    origin[target] = tuple(source.split("."))
        fed_by_steps = {t for t, s in step.inputs.items() if isinstance(s, str) and s.startswith("steps.")}
        try:
            validated = service.payloads.input.model_validate(partial).model_dump(mode="json")
        except ValidationError as exc:
            for error in exc.errors(include_input=False):
                target = str(error["loc"][0]) if error["loc"] else ""
                if target in fed_by_steps:
                    continue
                loc = origin.get(target, ("data", target)) + tuple(error["loc"][1:])
                problems.setdefault(loc, FieldProblem(loc, error["type"], error["msg"]))
            continue
        for target, source in step.inputs.items():  # keep the normalised form (e.g. plates)
            if isinstance(source, str) and source.startswith("data.") and source.count(".") == 1 and target in validated:
                normalised[source.split(".", 1)[1]] = validated[target]
    return normalised, sorted(problems.values(), key=lambda p: [str(x) for x in p.loc])


# ---------------------------------------------------------------- planning


def plan(case: Case, catalogue: Catalogue) -> list[Step]:
    """The steps of a new case, all waiting (SUBMITTED) until ``advance`` starts them."""
    composite = catalogue.composite(case.service)
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
        steps.append(Step(id=uuid.uuid4(), case_id=case.id, name=name, depends_on=after, input_mapping=mapping, service=code,
                          agency=service.provider, operation=service.operation, status=Status.SUBMITTED.value, inputs=inputs))
    return steps


async def current_steps(session: AsyncSession, case: Case) -> list[Step]:
    """The case's live steps (a revised step replaces its predecessor), in creation order."""
    steps = (await session.scalars(select(Step).where(Step.case_id == case.id).order_by(Step.created_at, Step.name))).all()
    return [s for s in steps if s.superseded_by is None]


# ---------------------------------------------------------------- advancing


class Workflow:
    def __init__(self, catalogue: Catalogue, *, deadline: Deadline | None = None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.catalogue = catalogue
        self.deadline = deadline
        self.now = now

    async def advance(self, session: AsyncSession, case: Case, *, message_id: uuid.UUID | None, trace: Trace) -> None:
        """Start every step whose inputs now exist, skip every step that never can, and
        bring the case's status in line with its steps'."""
        if Status(case.status).is_terminal:
            return
        steps = await current_steps(session, case)
        by_name = {s.name: s for s in steps}
        changed = True
        while changed:
            changed = False
            for step in steps:
                if step.status != Status.SUBMITTED:
                    continue
                deps = [by_name[n] for n in step.depends_on if n in by_name]
                blocker = next((d for d in deps if Status(d.status).is_terminal and d.status != Status.COMPLETED), None)
                if blocker is not None:
                    transition(session, step, Status.CANCELLED, note=f"skipped: {blocker.name} ended {blocker.status}", message_id=message_id)
                    changed = True
                elif all(d.status == Status.COMPLETED for d in deps):
                    self.start(session, case, step, {d.name: d.outputs for d in deps}, message_id=message_id, trace=trace)
                    changed = True
        self.settle(session, case, steps, message_id=message_id)

    def start(self, session: AsyncSession, case: Case, step: Step, outputs: dict[str, dict[str, Any]], *, message_id: uuid.UUID | None, trace: Trace) -> None:
        """Resolve the step's inputs, check them against its service, and send its command."""
        service = self.catalogue.get(step.service)
        assert service is not None
        if step.input_mapping is not None:
            try:
                raw = {target: resolve(source, case.data, case.applicant, outputs) for target, source in step.input_mapping.items()}
                step.inputs = service.payloads.input.model_validate(raw).model_dump(mode="json")
            except (MissingSource, ValidationError) as exc:
                detail = str(exc) if isinstance(exc, MissingSource) else "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)[:5])
                step.error = StepError(code="step_inputs_invalid", message=f"inputs for {step.service} could not be built: {detail}").model_dump()
                transition(session, step, Status.FAILED, note="inputs could not be built", message_id=message_id)
                return
        transition(session, step, Status.ROUTED, note=f"to {service.provider}", message_id=message_id)
        if self.deadline is not None:
            step.sla_due_at = self.deadline(self.now(), service.sla_working_days)
        command = StepCommand(service=service.code, operation=service.operation, applicant=Applicant.model_validate(case.applicant), data=step.inputs)
        enqueue(
            session,
            topics.commands(service.provider),
            Envelope(request_id=case.id, step_id=step.id, type=MessageType.STEP_COMMAND, source="router", payload=command.model_dump(mode="json")),
            correlation_id=trace.correlation_id,
            traceparent=trace.traceparent,
        )

    def settle(self, session: AsyncSession, case: Case, steps: list[Step], *, message_id: uuid.UUID | None) -> None:
        """Derive the case's status, outputs and error from its steps."""
        new = aggregate([Status(s.status) for s in steps])
        if case.kind == "single":
            case.outputs = steps[0].outputs
            case.error = steps[0].error
        else:
            case.outputs = {s.name: s.outputs for s in steps if s.outputs}
            failed = next((s for s in steps if s.status in (Status.REJECTED, Status.FAILED) and s.error), None)
            case.error = {**failed.error, "message": f"{failed.name}: {failed.error.get('message', '')}"} if failed and failed.error else None
        if case.status == Status.SUBMITTED and new is not Status.ROUTED and not can_transition(Status.SUBMITTED, new):
            transition(session, case, Status.ROUTED, message_id=message_id)  # a case is routed before it moves on
        if new.value != case.status and can_transition(Status(case.status), new):
            transition(session, case, new, message_id=message_id)

    def cancel(self, session: AsyncSession, case: Case, steps: list[Step], *, reason: str, trace: Trace) -> None:
        """The citizen cancels: waiting steps are skipped, running ones are asked to stop
        where the agency can; the case is CANCELLED at once."""
        for step in steps:
            status = Status(step.status)
            if status is Status.SUBMITTED:
                transition(session, step, Status.CANCELLED, note=f"cancelled before it started: {reason}")
            elif not status.is_terminal:
                service = self.catalogue.get(step.service)
                if service is not None and service.cancellable:
                    cancel = StepCancel(command=StepCommand(service=step.service, operation=step.operation, applicant=Applicant.model_validate(case.applicant), data=step.inputs),
                                        agency_ref=step.agency_ref, reason=reason)
                    enqueue(session, topics.commands(step.agency),
                            Envelope(request_id=case.id, step_id=step.id, type=MessageType.STEP_CANCEL, source="api", payload=cancel.model_dump(mode="json")),
                            correlation_id=trace.correlation_id, traceparent=trace.traceparent)
                    note = f"cancellation requested from {step.agency}"
                else:
                    note = f"{step.agency} cannot cancel a running step; it continues and its result is kept"
                record_note(session, step, note)
        transition(session, case, Status.CANCELLED, note=f"cancelled by the portal: {reason}")


def make_workflow(sla: SlaSettings, catalogue: Catalogue) -> Workflow:
    """The workflow of one hub process, with SLA deadlines from the configured calendar."""
    calendar = calendar_from_settings(sla)
    return Workflow(catalogue, deadline=lambda start, days: deadline_for(calendar, start, days))


def aggregate(statuses: list[Status]) -> Status:
    """A case's status from its live steps' statuses.

    Terminal once every step is: COMPLETED if all completed, else the most telling
    failure (REJECTED, FAILED, EXPIRED), else CANCELLED. While running: anything the
    citizen must act on first (NEEDS_REVISION, AWAITING_PAYMENT); the common status if
    all started steps agree; IN_PROCESS otherwise."""
    if all(s.is_terminal for s in statuses):
        if all(s is Status.COMPLETED for s in statuses):
            return Status.COMPLETED
        for outcome in (Status.REJECTED, Status.FAILED, Status.EXPIRED):
            if outcome in statuses:
                return outcome
        return Status.CANCELLED
    active = [s for s in statuses if not s.is_terminal]
    for needs_citizen in (Status.NEEDS_REVISION, Status.AWAITING_PAYMENT):
        if needs_citizen in active:
            return needs_citizen
    started = {s for s in active if s is not Status.SUBMITTED}
    if len(started) == 1 and len(active) == len(statuses) and Status.SUBMITTED not in active:
        return started.pop()
    if not started and not any(s.is_terminal for s in statuses):
        return Status.ROUTED
    return Status.IN_PROCESS
