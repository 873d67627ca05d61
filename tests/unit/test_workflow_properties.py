"""Properties of the DAG engine over random cases and random agency answers.

Hypothesis draws a DAG of up to eight steps (listed in any order, some with inputs
that cannot be built), then plays a case's life: the engine decides, its decisions
are applied, an agency moves one running step along a legal transition (or the
citizen resubmits a returned step, or cancels), and so on until nothing runs. Every
round is checked against the rules the hub promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.catalogue import Catalogue
from hub.domain.decisions import (
    CaseState,
    Decision,
    FailStep,
    NoteStep,
    RequestCancel,
    SetCaseStatus,
    SkipStep,
    StartStep,
    StepState,
    evolve,
    evolve_all,
)
from hub.domain.engine import aggregate, decide, decide_cancel
from schemas.lifecycle import ALLOWED_TRANSITIONS, TERMINAL, Status, can_transition

S = Status
CATALOGUE = Catalogue.load()
CANCELLABLE, NOT_CANCELLABLE = "imigrasi.passport_new", "samsat.pkb_annual"
BROKEN_INPUTS = {"plate": "data.absent"}  # a source the request does not have: the step fails to start
MAX_ROUNDS = 40
PROPERTY = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn) -> CaseState:
    """A new case: an acyclic graph of SUBMITTED steps, listed in any order."""
    count = draw(st.integers(1, 8))
    names = [f"s{i}" for i in range(count)]
    steps = []
    for i, name in enumerate(names):
        after = draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3)) if i else []
        service = draw(st.sampled_from([CANCELLABLE, NOT_CANCELLABLE]))
        broken = draw(st.integers(0, 9)) == 0
        steps.append(
            StepState(
                name=name,
                service=service,
                agency=CATALOGUE.get(service).provider,  # type: ignore[union-attr]
                status=S.SUBMITTED,
                depends_on=tuple(after),
                input_mapping=BROKEN_INPUTS if broken else None,
            )
        )
    kind = "single" if count == 1 else draw(st.sampled_from(["composite", "bundle"]))
    return CaseState(
        kind=kind, status=S.SUBMITTED, steps=tuple(draw(st.permutations(steps))), applicant={"nik": "1375015203900007", "name": "Siti"}
    )


@st.composite
def any_steps(draw: st.DrawFn) -> CaseState:
    """A case whose steps are caught at any moment, even one the hub would not reach (a
    hand-edited row); the tests try it under every case status."""
    case = draw(cases())
    return replace(case, steps=tuple(replace(s, status=draw(st.sampled_from(list(Status)))) for s in case.steps))


@dataclass(frozen=True)
class Round:
    before: CaseState
    decisions: list[Decision]
    after: CaseState
    cancel: bool  # a citizen's cancel rather than the engine following the steps
    started: frozenset[tuple[str, int]]  # (step, revision) started before this round
    revision: dict[str, int]
    cancelled: bool  # the citizen cancelled the case in this round or before


def play(state: CaseState, data: st.DataObject, *, may_cancel: bool = False) -> Iterator[Round]:
    """Yield every decision round of one life of ``state``."""
    started: set[tuple[str, int]] = set()
    revision = {s.name: 0 for s in state.steps}
    cancelled = False
    for number in range(MAX_ROUNDS):
        cancel = may_cancel and not cancelled and data.draw(st.integers(0, 4)) == 0
        decisions = decide_cancel(state, CATALOGUE, reason="r") if cancel else decide(state, CATALOGUE)
        cancelled |= cancel
        after = evolve_all(state, decisions)
        yield Round(state, decisions, after, cancel, frozenset(started), dict(revision), cancelled)
        started |= {(d.step, revision[d.step]) for d in decisions if isinstance(d, StartStep | FailStep)}
        state = after
        running = [s for s in state.steps if s.status is not S.SUBMITTED and not s.status.is_terminal]
        if not running:
            return
        state = _agency_or_citizen_moves(state, data.draw(st.sampled_from(running)), data, revision, final=number > MAX_ROUNDS // 2)
    raise AssertionError("the case did not settle")


def _agency_or_citizen_moves(state: CaseState, step: StepState, data: st.DataObject, revision: dict[str, int], *, final: bool) -> CaseState:
    if step.status is S.NEEDS_REVISION and not state.status.is_terminal and data.draw(st.booleans()):
        revision[step.name] += 1  # the portal resubmits: a new SUBMITTED step replaces the returned one
        fresh = replace(step, status=S.SUBMITTED, input_mapping=None, inputs={"corrected": True}, outputs={}, error=None)
        return replace(state, steps=tuple(fresh if s.name == step.name else s for s in state.steps))
    choices = sorted(ALLOWED_TRANSITIONS[step.status] & TERMINAL if final else ALLOWED_TRANSITIONS[step.status])
    new = data.draw(st.sampled_from(choices))
    outputs = {"from": step.name} if new is S.COMPLETED else {}
    error = {"code": "refused", "message": "m"} if new in (S.REJECTED, S.FAILED) and data.draw(st.booleans()) else None
    moved = replace(step, status=new, outputs=outputs, error=error)
    return replace(state, steps=tuple(moved if s.name == step.name else s for s in state.steps))


def _deps(state: CaseState, step: StepState) -> list[StepState]:
    names = {s.name for s in state.steps}
    return [state.step(n) for n in step.depends_on if n in names]


def _downstream(state: CaseState, roots: set[str]) -> set[str]:
    """Steps that (transitively) wait on any of ``roots``."""
    found: set[str] = set()
    frontier = set(roots)
    while frontier:
        frontier = {s.name for s in state.steps if set(s.depends_on) & frontier} - found
        found |= frontier
    return found


def _sequentially(round_: Round) -> Iterator[tuple[CaseState, Decision]]:
    """Each decision with the state it is applied to."""
    current = round_.before
    for decision in round_.decisions:
        yield current, decision
        current = evolve(current, decision)


# ------------------------------------------------------------------ properties


@PROPERTY
@given(cases(), st.data())
def test_a_step_starts_only_once_all_its_dependencies_completed(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data, may_cancel=True):
        for current, decision in _sequentially(round_):
            if isinstance(decision, StartStep | FailStep):
                step = current.step(decision.step)
                assert step.status is S.SUBMITTED
                assert all(d.status is S.COMPLETED for d in _deps(current, step)), (decision, current)


@PROPERTY
@given(cases(), st.data())
def test_no_step_is_started_twice(case: CaseState, data: st.DataObject) -> None:
    starts: list[tuple[str, int]] = []
    for round_ in play(case, data, may_cancel=True):
        starts += [(d.step, round_.revision[d.step]) for d in round_.decisions if isinstance(d, StartStep | FailStep)]
    assert len(starts) == len(set(starts)), starts


@PROPERTY
@given(cases(), st.data())
def test_exactly_the_steps_downstream_of_a_dependency_that_did_not_complete_are_skipped(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data):
        after = round_.after
        started = round_.started | {(d.step, round_.revision[d.step]) for d in round_.decisions if isinstance(d, StartStep | FailStep)}
        ended_badly = {
            s.name
            for s in after.steps
            if s.status.is_terminal and s.status is not S.COMPLETED and (s.name, round_.revision[s.name]) in started
        }
        skipped = {s.name for s in after.steps if s.status is S.CANCELLED and (s.name, round_.revision[s.name]) not in started}
        assert skipped == _downstream(after, ended_badly), (ended_badly, after)
        for current, decision in _sequentially(round_):
            if isinstance(decision, SkipStep):
                blocker = decision.note.removeprefix("skipped: ").split(" ended ")[0]
                assert current.step(blocker).status.is_terminal and current.step(blocker).status is not S.COMPLETED


@PROPERTY
@given(cases(), st.data())
def test_nothing_is_left_waiting_while_nothing_runs(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data):
        for step in round_.after.steps:
            if step.status is S.SUBMITTED:
                assert any(not d.status.is_terminal for d in _deps(round_.after, step)), f"{step.name} could start or be skipped"
    assert all(s.status.is_terminal for s in round_.after.steps), "the life ended with every step final"


@PROPERTY
@given(cases(), st.data())
def test_the_case_is_final_exactly_when_all_its_steps_are(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data):
        after = round_.after
        all_final = all(s.status.is_terminal for s in after.steps)
        assert after.status.is_terminal == all_final, after
        if all_final:
            assert after.status is aggregate([s.status for s in after.steps])


@PROPERTY
@given(cases(), st.data())
def test_deciding_again_after_applying_yields_nothing(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data, may_cancel=True):
        assert decide(round_.after, CATALOGUE) == [], round_.after


@PROPERTY
@given(cases(), st.data())
def test_the_case_moves_only_along_legal_transitions(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data, may_cancel=True):
        for current, decision in _sequentially(round_):
            if isinstance(decision, SetCaseStatus):
                assert can_transition(current.status, decision.status), (current.status, decision.status)


@PROPERTY
@given(cases(), st.data())
def test_cancel_skips_what_waits_stops_what_can_and_ends_the_case(case: CaseState, data: st.DataObject) -> None:
    for round_ in play(case, data, may_cancel=True):
        if round_.cancel:
            before, after = round_.before, round_.after
            for old, new in zip(before.steps, after.steps, strict=True):
                if old.status is S.SUBMITTED:
                    assert new.status is S.CANCELLED
                else:
                    assert new.status is old.status, "a running step runs on until its agency answers"
            running = [s for s in before.steps if s.status is not S.SUBMITTED and not s.status.is_terminal]
            asked = {d.step for d in round_.decisions if isinstance(d, RequestCancel)}
            noted = {d.step for d in round_.decisions if isinstance(d, NoteStep)}
            assert asked == {s.name for s in running if s.service == CANCELLABLE}
            assert noted == {s.name for s in running if s.service == NOT_CANCELLABLE}
            assert after.status is S.CANCELLED or before.status.is_terminal
        elif round_.cancelled:
            assert round_.decisions == [], "nothing follows a cancelled case"


@PROPERTY
@given(any_steps())
def test_from_any_state_decisions_are_legal_well_founded_and_final(steps_only: CaseState) -> None:
    for status in Status:
        case = replace(steps_only, status=status)
        decisions = decide(case, CATALOGUE)
        for current, decision in _sequentially(Round(case, decisions, case, False, frozenset(), {}, False)):
            if isinstance(decision, SetCaseStatus):
                assert can_transition(current.status, decision.status), (current.status, decision.status)
            if isinstance(decision, StartStep | FailStep | SkipStep):
                assert current.step(decision.step).status is S.SUBMITTED
            if isinstance(decision, StartStep | FailStep):
                assert all(d.status is S.COMPLETED for d in _deps(current, current.step(decision.step)))
        assert decide(evolve_all(case, decisions), CATALOGUE) == []
