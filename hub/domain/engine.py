"""The DAG engine of a case: given its steps, what happens next.

Pure functions from plain values (:class:`~hub.domain.decisions.CaseState` and the
catalogue's service definitions) to a list of decisions, in the order they must be
applied. Nothing here reads or writes a database or a topic, so every rule is
unit-tested directly (``tests/unit/test_workflow_engine.py``); the applier in
``hub/domain/workflow.py`` only writes what was decided.

The rules:

- a step starts once every step it depends on COMPLETED, with inputs resolved from
  the request's data, the applicant, those steps' outputs or literals, and validated
  against its service (inputs that cannot be built fail the step instead);
- a dependency that ends any other way skips (CANCELLED) every step waiting on it,
  transitively;
- the case's status, outputs and error follow its steps' (:func:`aggregate`);
- a cancelled case skips its steps not started and asks running ones to stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hub.catalogue import Service
from hub.domain.decisions import (
    CaseState,
    Decision,
    FailStep,
    NoteStep,
    RequestCancel,
    SetCaseResult,
    SetCaseStatus,
    SkipStep,
    StartStep,
    StepState,
    evolve,
)
from hub.domain.inputs import InputsInvalid, build_inputs
from schemas.lifecycle import Status, can_transition
from schemas.messages import StepError


class Services(Protocol):
    """The catalogue as the engine needs it (``hub.catalogue.Catalogue`` is one)."""

    def get(self, code: str) -> Service | None: ...


def decide(case: CaseState, services: Services) -> list[Decision]:
    """Start every step whose dependencies completed, skip every step that never can,
    and bring the case's result and status in line with its steps'.

    Decisions are in application order (a step failed here skips its dependants later
    in the list). Applying them and deciding again yields nothing: the engine runs to
    a fixed point. A terminal case is left alone."""
    if case.status.is_terminal:
        return []
    decisions: list[Decision] = []
    changed = True
    while changed:
        changed = False
        for name in [s.name for s in case.steps]:
            decision = _next_for(case.step(name), case, services)
            if decision is not None:
                decisions.append(decision)
                case = evolve(case, decision)
                changed = True
    return decisions + settle(case)


def _next_for(step: StepState, case: CaseState, services: Services) -> Decision | None:
    if step.status is not Status.SUBMITTED:
        return None
    by_name = {s.name: s for s in case.steps}
    deps = [by_name[n] for n in step.depends_on if n in by_name]  # a name not in the case does not hold it up
    blocker = next((d for d in deps if d.status.is_terminal and d.status is not Status.COMPLETED), None)
    if blocker is not None:
        return SkipStep(step.name, note=f"skipped: {blocker.name} ended {blocker.status}")
    if all(d.status is Status.COMPLETED for d in deps):
        return _start(step, case, services, {d.name: d.outputs for d in deps})
    return None


def _start(step: StepState, case: CaseState, services: Services, outputs: Mapping[str, Mapping[str, Any]]) -> StartStep | FailStep:
    service = services.get(step.service)
    if service is None:
        raise LookupError(f"service {step.service!r} of step {step.name!r} is not in the catalogue")
    inputs = step.inputs
    if step.input_mapping is not None:
        try:
            inputs = build_inputs(service, step.input_mapping, case.data, case.applicant, outputs)
        except InputsInvalid as exc:
            error = StepError(code="step_inputs_invalid", message=f"inputs for {step.service} could not be built: {exc}")
            return FailStep(step.name, error=error.model_dump())
    return StartStep(
        step.name,
        inputs=inputs,
        service=service.code,
        agency=service.provider,
        operation=service.operation,
        sla_working_days=service.sla_working_days,
    )


def settle(case: CaseState) -> list[Decision]:
    """The case's result and status from its steps', where they differ from the case's.

    A case moves only along legal transitions; a SUBMITTED case is ROUTED first when
    its new status cannot be reached from SUBMITTED directly."""
    decisions: list[Decision] = []
    outputs, error = _result(case)
    if outputs != case.outputs or error != case.error:
        decisions.append(SetCaseResult(outputs=outputs, error=error))
    new, current = aggregate([s.status for s in case.steps]), case.status
    if current is Status.SUBMITTED and new is not Status.ROUTED and not can_transition(Status.SUBMITTED, new):
        decisions.append(SetCaseStatus(Status.ROUTED))  # a case is routed before it moves on
        current = Status.ROUTED
    if new is not current and can_transition(current, new):
        decisions.append(SetCaseStatus(new))
    return decisions


def _result(case: CaseState) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """A single-service case mirrors its step; a multi-step case gathers outputs by step
    name and reports the first refused or failed step's error, naming it."""
    if case.kind == "single":
        return case.steps[0].outputs, case.steps[0].error
    outputs = {s.name: s.outputs for s in case.steps if s.outputs}
    failed = next((s for s in case.steps if s.status in (Status.REJECTED, Status.FAILED) and s.error), None)
    if failed is None or failed.error is None:
        return outputs, None
    return outputs, {**failed.error, "message": f"{failed.name}: {failed.error.get('message', '')}"}


def decide_cancel(case: CaseState, services: Services, *, reason: str) -> list[Decision]:
    """The citizen cancels: waiting steps are skipped, running ones are asked to stop
    where the agency can (others run on and their result is kept); the case is
    CANCELLED at once. A case already final cannot be cancelled: nothing to do."""
    if case.status.is_terminal:
        return []
    decisions: list[Decision] = []
    for step in case.steps:
        if step.status is Status.SUBMITTED:
            decisions.append(SkipStep(step.name, note=f"cancelled before it started: {reason}"))
        elif not step.status.is_terminal:
            service = services.get(step.service)
            if service is not None and service.cancellable:
                decisions.append(RequestCancel(step.name, agency=step.agency, reason=reason))
            else:
                decisions.append(
                    NoteStep(step.name, note=f"{step.agency} cannot cancel a running step; it continues and its result is kept")
                )
    decisions.append(SetCaseStatus(Status.CANCELLED, note=f"cancelled by the portal: {reason}"))
    return decisions


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
