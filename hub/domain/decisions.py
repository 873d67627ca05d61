"""What the workflow engine sees (a case and its steps as plain values) and what it
decides (start, fail or skip a step, ask an agency to cancel, set the case's status).

Plain frozen values so the engine can be tested without a database or a broker, and
so :func:`evolve` can say precisely what applying a decision means; the applier in
``hub/domain/workflow.py`` writes the same change to the ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hub.catalogue import Source
from schemas.lifecycle import Status


@dataclass(frozen=True)
class StepState:
    """One live step (a superseded one is not part of the case any more)."""

    name: str
    service: str
    agency: str
    status: Status
    depends_on: tuple[str, ...] = ()
    #: Where each input comes from (composites); None: ``inputs`` are already final.
    input_mapping: Mapping[str, Source] | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CaseState:
    kind: str  # single | composite | bundle
    status: Status
    steps: tuple[StepState, ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    applicant: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: Mapping[str, Any] | None = None

    def step(self, name: str) -> StepState:
        return next(s for s in self.steps if s.name == name)


@dataclass(frozen=True)
class StartStep:
    """Send the step's command to ``agency`` with these (resolved, validated) inputs."""

    step: str
    inputs: Mapping[str, Any]
    service: str
    #: The provider the catalogue names now: a re-pointed service goes to its new agency.
    agency: str
    operation: str
    sla_working_days: float

    @property
    def note(self) -> str:
        return f"to {self.agency}"


@dataclass(frozen=True)
class FailStep:
    """The step cannot be sent: its inputs could not be built or do not validate."""

    step: str
    error: Mapping[str, Any]  # a StepError
    note: str = "inputs could not be built"


@dataclass(frozen=True)
class SkipStep:
    """The step will never start: it is CANCELLED without reaching its agency."""

    step: str
    note: str


@dataclass(frozen=True)
class RequestCancel:
    """Ask the agency to stop a running step (only agencies that can cancel)."""

    step: str
    agency: str
    reason: str

    @property
    def note(self) -> str:
        return f"cancellation requested from {self.agency}"


@dataclass(frozen=True)
class NoteStep:
    """An audit entry about a step that does not change it."""

    step: str
    note: str


@dataclass(frozen=True)
class SetCaseResult:
    """The case's outputs and error, derived from its steps'."""

    outputs: Mapping[str, Any]
    error: Mapping[str, Any] | None


@dataclass(frozen=True)
class SetCaseStatus:
    status: Status
    note: str | None = None


Decision = StartStep | FailStep | SkipStep | RequestCancel | NoteStep | SetCaseResult | SetCaseStatus


def _evolve_step(step: StepState, decision: Decision) -> StepState:
    match decision:
        case StartStep(inputs=inputs):
            return replace(step, status=Status.ROUTED, inputs=inputs)
        case FailStep(error=error):
            return replace(step, status=Status.FAILED, error=error)
        case SkipStep():
            return replace(step, status=Status.CANCELLED)
    return step


def evolve(case: CaseState, decision: Decision) -> CaseState:
    """The case after ``decision``: the meaning every applier must implement."""
    match decision:
        case SetCaseStatus(status=status):
            return replace(case, status=status)
        case SetCaseResult(outputs=outputs, error=error):
            return replace(case, outputs=outputs, error=error)
        case StartStep() | FailStep() | SkipStep():
            return replace(case, steps=tuple(_evolve_step(s, decision) if s.name == decision.step else s for s in case.steps))
    return case  # RequestCancel, NoteStep: audit and messages only


def evolve_all(case: CaseState, decisions: Iterable[Decision]) -> CaseState:
    for decision in decisions:
        case = evolve(case, decision)
    return case
