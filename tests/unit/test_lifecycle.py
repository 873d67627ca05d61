"""Specification of the canonical lifecycle (schemas/lifecycle.py).

One vocabulary for every agency; which moves are legal decides whether the router
applies a status report or refuses (and records) it.
"""

from __future__ import annotations

import itertools

import pytest

from schemas.lifecycle import ALLOWED_TRANSITIONS, TERMINAL, Status, can_transition

TERMINAL_STATES = sorted(TERMINAL)
ACTIVE_STATES = [
    Status.ROUTED,
    Status.ACCEPTED,
    Status.NEEDS_REVISION,
    Status.AWAITING_PAYMENT,
    Status.IN_PROCESS,
    Status.READY_FOR_PICKUP,
]
# What an agency can report while a step is under way (ROUTED is the hub's own doing).
AGENCY_ACTIVE_STATES = [s for s in ACTIVE_STATES if s is not Status.ROUTED]


def test_every_status_is_exactly_one_of_submitted_active_or_terminal() -> None:
    assert set(Status) == {Status.SUBMITTED} | set(ACTIVE_STATES) | set(TERMINAL)
    assert not set(ACTIVE_STATES) & set(TERMINAL)


def test_every_status_has_a_transition_entry() -> None:
    """can_transition must answer for any pair, never raise KeyError."""
    assert set(ALLOWED_TRANSITIONS) == set(Status)
    for current, new in itertools.product(Status, Status):
        assert isinstance(can_transition(current, new), bool)


def test_terminal_flag_matches_terminal_set() -> None:
    assert {s for s in Status if s.is_terminal} == {
        Status.COMPLETED,
        Status.REJECTED,
        Status.CANCELLED,
        Status.EXPIRED,
        Status.FAILED,
    }


@pytest.mark.parametrize("terminal", TERMINAL_STATES)
def test_terminal_states_have_no_way_out(terminal: Status) -> None:
    assert ALLOWED_TRANSITIONS[terminal] == frozenset()
    for new in Status:
        assert not can_transition(terminal, new), f"{terminal} -> {new} must be refused"


def test_submitted_can_only_be_routed_cancelled_failed_or_rejected() -> None:
    allowed = {new for new in Status if can_transition(Status.SUBMITTED, new)}
    assert allowed == {Status.ROUTED, Status.CANCELLED, Status.FAILED, Status.REJECTED}


@pytest.mark.parametrize("new", [Status.ACCEPTED, Status.IN_PROCESS, Status.COMPLETED, Status.READY_FOR_PICKUP])
def test_submitted_cannot_skip_routing(new: Status) -> None:
    assert not can_transition(Status.SUBMITTED, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [(a, b) for a, b in itertools.product(ACTIVE_STATES, AGENCY_ACTIVE_STATES) if a is not b],
)
def test_active_states_can_reach_each_other(current: Status, new: Status) -> None:
    assert can_transition(current, new)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(ACTIVE_STATES, TERMINAL_STATES)))
def test_active_states_can_end_in_any_terminal_state(current: Status, new: Status) -> None:
    assert can_transition(current, new)


@pytest.mark.parametrize("current", ACTIVE_STATES)
@pytest.mark.parametrize("back", [Status.SUBMITTED, Status.ROUTED])
def test_active_states_never_go_back_to_submitted_or_routed(current: Status, back: Status) -> None:
    if (current, back) == (Status.NEEDS_REVISION, Status.ROUTED):
        pytest.skip("the one way back: a case resubmitted after a revision request is routed again")
    assert not can_transition(current, back)


def test_a_case_returned_for_revision_is_routed_again_when_resubmitted() -> None:
    assert can_transition(Status.NEEDS_REVISION, Status.ROUTED)
    assert not can_transition(Status.NEEDS_REVISION, Status.SUBMITTED)


def test_nothing_ever_goes_back_to_submitted() -> None:
    assert all(Status.SUBMITTED not in targets for targets in ALLOWED_TRANSITIONS.values())


def test_routed_is_entered_only_from_submitted_or_a_resubmitted_revision() -> None:
    assert {s for s in Status if can_transition(s, Status.ROUTED)} == {Status.SUBMITTED, Status.NEEDS_REVISION}


@pytest.mark.parametrize("late", [*AGENCY_ACTIVE_STATES, Status.ROUTED, Status.SUBMITTED])
def test_completed_step_cannot_be_resurrected_by_a_late_report(late: Status) -> None:
    """A delayed IN_PROCESS (or any non-terminal report) after COMPLETED is refused."""
    assert not can_transition(Status.COMPLETED, late)


def test_late_in_process_after_completed_is_refused() -> None:
    assert can_transition(Status.IN_PROCESS, Status.COMPLETED)
    assert not can_transition(Status.COMPLETED, Status.IN_PROCESS)


def test_status_values_are_their_wire_names() -> None:
    """Status travels as a string in JSON; value and name must agree."""
    for status in Status:
        assert status.value == status.name
        assert Status(status.value) is status
