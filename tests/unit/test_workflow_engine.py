"""The DAG engine of a case, rule by rule: what starts, with which inputs, what is
skipped, what a cancel does, and what the case's status and result become.

The engine is a pure function, so these tests build cases as plain values and read the
decisions; no database and no broker is involved.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from hub.catalogue import Catalogue, Service
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
    evolve_all,
)
from hub.domain.engine import decide, decide_cancel
from schemas.lifecycle import TERMINAL, Status
from support.samples import APPLICANT, PHYSICAL_CHECK, vehicle_transfer_data

S = Status
CATALOGUE = Catalogue.load()
TRANSFER_DATA = vehicle_transfer_data()


def step(
    name: str,
    status: Status = S.SUBMITTED,
    *,
    after: tuple[str, ...] = (),
    service: str = "samsat.pkb_annual",
    mapping: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> StepState:
    provider = CATALOGUE.get(service).provider  # type: ignore[union-attr]
    return StepState(
        name=name,
        service=service,
        agency=provider,
        status=status,
        depends_on=after,
        input_mapping=mapping,
        inputs=inputs or {},
        outputs=outputs or {},
        error=error,
    )


def case(*steps: StepState, status: Status = S.ROUTED, kind: str = "composite", data: dict[str, Any] | None = None) -> CaseState:
    return CaseState(kind=kind, status=status, steps=steps, data=data or {}, applicant=APPLICANT)


def composite_steps(code: str, **statuses: Status) -> list[StepState]:
    """The steps ``plan`` makes for a shipped composite, with some already moved on."""
    composite = CATALOGUE.composite(code)
    assert composite is not None
    return [
        step(s.name, statuses.get(s.name, S.SUBMITTED), after=tuple(s.after), service=s.service, mapping=dict(s.inputs))
        for s in composite.steps
    ]


def with_step(state: CaseState, name: str, **changes: Any) -> CaseState:
    """``state`` after an agency report moved one of its steps."""
    return replace(state, steps=tuple(replace(s, **changes) if s.name == name else s for s in state.steps))


def soon(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def of(kind: type, decisions: list[Decision]) -> list[Any]:
    return [d for d in decisions if isinstance(d, kind)]


def started(decisions: list[Decision]) -> list[str]:
    return [d.step for d in of(StartStep, decisions)]


# ------------------------------------------------------------------ starting steps


def test_a_new_case_starts_its_steps_without_dependencies_and_is_routed_before_it_moves_on() -> None:
    new = case(*composite_steps("mpp.vehicle_ownership_transfer"), status=S.SUBMITTED, data=TRANSFER_DATA)

    decisions = decide(new, CATALOGUE)

    assert decisions == [
        StartStep(
            "police_check",
            inputs={"plate": "BA 2024 LA", "vehicle_type": "car", **PHYSICAL_CHECK},
            service="polri.vehicle_check",
            agency="polri",
            operation="vehicle_check",
            sla_working_days=1.0,
        ),
        SetCaseStatus(S.ROUTED),
        SetCaseStatus(S.IN_PROCESS),
    ], "the transfer waits for the police check; a case goes SUBMITTED -> ROUTED -> IN_PROCESS, never straight on"
    assert decisions[0].note == "to polri"


def test_independent_steps_all_start_at_once() -> None:
    pack = case(
        *composite_steps("mpp.job_seeker_pack"),
        status=S.SUBMITTED,
        data={
            "skck_purpose": "Melamar pekerjaan",
            "address": "Jl. Sudirman 1, Padang",
            "passport_type": "electronic",
            "passport_validity_years": 10,
            "appointment_date": soon(3),
            "supporting_document": "birth_certificate",
            "licence_class": "A",
            "old_sim_number": "123456789012",
            "old_sim_valid_until": soon(20),
        },
    )

    decisions = decide(pack, CATALOGUE)

    assert [(type(d).__name__, d.step) for d in decisions if not isinstance(d, SetCaseStatus)] == [
        ("StartStep", "skck"),
        ("StartStep", "passport"),
        ("StartStep", "sim"),
    ], decisions
    assert of(SetCaseStatus, decisions)[-1] == SetCaseStatus(S.ROUTED), "all steps routed: the case is ROUTED"


def test_a_step_waits_until_every_dependency_completed() -> None:
    waiting = case(step("a", S.COMPLETED), step("b", S.IN_PROCESS), step("c", after=("a", "b")))
    assert started(decide(waiting, CATALOGUE)) == []

    for running in (S.ROUTED, S.ACCEPTED, S.NEEDS_REVISION, S.AWAITING_PAYMENT, S.READY_FOR_PICKUP):
        assert started(decide(with_step(waiting, "b", status=running), CATALOGUE)) == [], running

    assert started(decide(with_step(waiting, "b", status=S.COMPLETED), CATALOGUE)) == ["c"]


def test_a_dependant_gets_its_inputs_from_the_outputs_of_the_step_it_waits_for() -> None:
    checked = {
        "plate": "BA 2024 LA",
        "physical_check": PHYSICAL_CHECK,
        "clearance_number": "CF/1",
        "checked_on": "2031-01-02",
        "stolen_or_blocked": False,
        "registration_number": "R1",
    }
    state = case(*composite_steps("mpp.vehicle_ownership_transfer"), data=TRANSFER_DATA)
    state = with_step(state, "police_check", status=S.COMPLETED, outputs=checked)

    [start] = of(StartStep, decide(state, CATALOGUE))

    assert start.step == "transfer" and start.agency == "samsat" and start.sla_working_days == 2.0
    assert start.inputs["physical_check"] == PHYSICAL_CHECK
    assert start.inputs["plate"] == "BA 2024 LA", "inputs are normalised by the service's model"
    assert start.inputs["previous_owner_nik"] == TRANSFER_DATA["previous_owner_nik"]


def test_inputs_come_from_the_applicant_and_from_literals_too() -> None:
    state = case(*composite_steps("mpp.food_business_start"), status=S.SUBMITTED)

    [start] = of(StartStep, decide(state, CATALOGUE))

    assert start.step == "kswp"
    assert start.inputs == {"npwp": APPLICANT["nik"], "purpose": "Sertifikasi halal (perizinan berusaha)"}


def test_a_step_without_a_mapping_is_sent_with_its_own_inputs() -> None:
    """Single services, bundle items and revised steps carry inputs the API already validated."""
    state = case(step("main", inputs={"plate": "BA 1 A", "anything": 1}), status=S.SUBMITTED, kind="single")

    [start] = of(StartStep, decide(state, CATALOGUE))

    assert start.inputs == {"plate": "BA 1 A", "anything": 1}


def test_a_step_goes_to_the_provider_the_catalogue_names_now() -> None:
    """Re-pointing a service in the catalogue redirects steps planned before the change."""
    moved = CATALOGUE.get("samsat.pkb_annual").model_copy(update={"provider": "new_provider"})  # type: ignore[union-attr]
    catalogue = Catalogue({**{s.code: s for s in CATALOGUE}, "samsat.pkb_annual": moved})

    [start] = of(StartStep, decide(case(step("main"), kind="single"), catalogue))

    assert (start.agency, start.note) == ("new_provider", "to new_provider")


def test_a_step_whose_service_left_the_catalogue_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(LookupError, match="samsat.pkb_annual"):
        decide(case(step("main"), kind="single"), Catalogue({}))


@pytest.mark.parametrize("status", [s for s in Status if s is not S.SUBMITTED])
def test_a_step_that_left_submitted_is_never_started_again(status: Status) -> None:
    state = case(step("a", status), step("b", status, after=("a",)))
    assert of(StartStep, decide(state, CATALOGUE)) == []
    assert of(FailStep, decide(state, CATALOGUE)) == []


def test_a_dependency_that_is_not_in_the_case_does_not_hold_a_step_up() -> None:
    assert started(decide(case(step("a", after=("ghost",))), CATALOGUE)) == ["a"]


# ------------------------------------------------------------------ inputs that cannot be built


def test_inputs_that_cannot_be_built_fail_the_step_and_its_dependants_are_skipped() -> None:
    state = case(*composite_steps("mpp.vehicle_ownership_transfer"), step("later", after=("transfer",)), data=TRANSFER_DATA)
    state = with_step(state, "police_check", status=S.COMPLETED, outputs={"plate": "BA 2024 LA"})  # no physical_check

    decisions = decide(state, CATALOGUE)

    fail, skip = decisions[0], decisions[1]
    assert isinstance(fail, FailStep) and fail.step == "transfer" and fail.note == "inputs could not be built"
    assert fail.error == {
        "code": "step_inputs_invalid",
        "agency_code": None,
        "message": "inputs for samsat.ownership_transfer could not be built: steps.police_check.outputs.physical_check is not available",
    }
    assert skip == SkipStep("later", note="skipped: transfer ended FAILED")
    result = evolve_all(state, decisions)
    assert result.status is S.FAILED
    assert result.error is not None and result.error["message"].startswith("transfer: inputs for samsat.ownership_transfer")


def test_inputs_that_do_not_validate_fail_the_step_naming_fields_not_values() -> None:
    state = case(*composite_steps("mpp.vehicle_ownership_transfer"), status=S.SUBMITTED, data={**TRANSFER_DATA, "plate": "XX-SECRET"})

    [fail] = of(FailStep, decide(state, CATALOGUE))

    assert fail.step == "police_check" and fail.error["code"] == "step_inputs_invalid"
    assert "plate" in fail.error["message"] and "XX-SECRET" not in fail.error["message"]
    assert evolve_all(state, decide(state, CATALOGUE)).status is S.FAILED, "SUBMITTED -> FAILED is legal: no detour via ROUTED"


# ------------------------------------------------------------------ skipping


@pytest.mark.parametrize("ending", [S.REJECTED, S.FAILED, S.EXPIRED, S.CANCELLED])
def test_a_dependency_that_does_not_complete_skips_everything_downstream(ending: Status) -> None:
    state = case(step("a", ending), step("b", after=("a",)), step("c", after=("b",)), step("d", S.IN_PROCESS), step("e", after=("d",)))

    decisions = decide(state, CATALOGUE)

    assert of(SkipStep, decisions) == [SkipStep("b", note=f"skipped: a ended {ending}"), SkipStep("c", note="skipped: b ended CANCELLED")]
    assert started(decisions) == [], "e waits for d, which still runs"


def test_a_step_is_skipped_at_once_even_while_its_other_dependencies_still_run() -> None:
    state = case(step("a", S.IN_PROCESS), step("b", S.REJECTED), step("c", after=("a", "b")))
    assert of(SkipStep, decide(state, CATALOGUE)) == [SkipStep("c", note="skipped: b ended REJECTED")]


def test_the_skip_names_the_first_dependency_that_ended_badly_in_its_order() -> None:
    state = case(step("a", S.FAILED), step("b", S.REJECTED), step("c", after=("b", "a")))
    assert of(SkipStep, decide(state, CATALOGUE)) == [SkipStep("c", note="skipped: b ended REJECTED")]


def test_decisions_come_in_the_order_they_must_be_applied() -> None:
    """A step failed in one pass skips its dependants in a later one; later steps in the
    case see earlier decisions of the same pass."""
    state = case(step("a", S.COMPLETED), step("c", after=("b",)), step("b", after=("a",), mapping={"plate": "data.absent"}))

    decisions = decide(state, CATALOGUE)

    assert [(type(d).__name__, getattr(d, "step", None)) for d in decisions if not isinstance(d, SetCaseResult | SetCaseStatus)] == [
        ("FailStep", "b"),
        ("SkipStep", "c"),
    ]


# ------------------------------------------------------------------ the case follows its steps


def test_a_final_case_is_left_alone() -> None:
    for final in TERMINAL:
        assert decide(case(step("a"), status=final), CATALOGUE) == []


def test_a_case_that_has_not_moved_is_not_rewritten() -> None:
    state = case(step("a", S.IN_PROCESS), step("b", S.SUBMITTED, after=("a",)), status=S.IN_PROCESS)
    assert decide(state, CATALOGUE) == []


def test_an_illegal_case_move_is_not_decided() -> None:
    """All steps back at ROUTED would say ROUTED, but an IN_PROCESS case cannot go back."""
    state = case(step("a", S.ROUTED), step("b", S.ROUTED), status=S.IN_PROCESS)
    assert of(SetCaseStatus, decide(state, CATALOGUE)) == []


def test_a_submitted_case_whose_only_step_finished_is_routed_first() -> None:
    state = case(step("main", S.COMPLETED, outputs={"x": 1}), status=S.SUBMITTED, kind="single")
    assert decide(state, CATALOGUE) == [SetCaseResult(outputs={"x": 1}, error=None), SetCaseStatus(S.ROUTED), SetCaseStatus(S.COMPLETED)]


def test_a_single_service_case_mirrors_its_steps_outputs_and_error() -> None:
    error = {"code": "plate_not_registered", "message": "no such plate", "agency_code": "E12"}
    state = case(step("main", S.REJECTED, outputs={}, error=error), kind="single", status=S.ACCEPTED)
    assert decide(state, CATALOGUE) == [SetCaseResult(outputs={}, error=error), SetCaseStatus(S.REJECTED)]


def test_a_multi_step_case_gathers_outputs_by_step_and_names_the_failed_step() -> None:
    state = case(
        step("item1", S.COMPLETED, outputs={"a": 1}),
        step("item2", S.IN_PROCESS),
        step("item3", S.REJECTED, error={"code": "x", "message": "ditolak"}),
        kind="bundle",
        status=S.IN_PROCESS,
    )

    [result] = of(SetCaseResult, decide(state, CATALOGUE))

    assert result == SetCaseResult(outputs={"item1": {"a": 1}}, error={"code": "x", "message": "item3: ditolak"})


@pytest.mark.parametrize(
    ("endings", "final"),
    [
        ((S.COMPLETED, S.COMPLETED), S.COMPLETED),
        ((S.COMPLETED, S.REJECTED), S.REJECTED),
        ((S.EXPIRED, S.COMPLETED), S.EXPIRED),
        ((S.CANCELLED, S.COMPLETED), S.CANCELLED),
        ((S.FAILED, S.REJECTED), S.REJECTED),
    ],
)
def test_a_case_is_final_once_all_its_steps_are(endings: tuple[Status, Status], final: Status) -> None:
    state = case(step("a", endings[0]), step("b", endings[1]), status=S.IN_PROCESS)
    assert evolve_all(state, decide(state, CATALOGUE)).status is final


def test_a_resubmitted_revision_starts_and_brings_the_case_back_to_routed() -> None:
    """The API supersedes the returned step with a new SUBMITTED one carrying corrected inputs."""
    state = case(step("main", inputs={"plate": "BA 99 LD"}), kind="single", status=S.NEEDS_REVISION)

    decisions = decide(state, CATALOGUE)

    assert started(decisions) == ["main"] and of(StartStep, decisions)[0].inputs == {"plate": "BA 99 LD"}
    assert of(SetCaseStatus, decisions) == [SetCaseStatus(S.ROUTED)]


# ------------------------------------------------------------------ deciding is pure and idempotent


def test_deciding_again_after_applying_yields_nothing() -> None:
    state = case(*composite_steps("mpp.vehicle_ownership_transfer"), status=S.SUBMITTED, data=TRANSFER_DATA)
    once = evolve_all(state, decide(state, CATALOGUE))
    assert decide(once, CATALOGUE) == []


def test_the_engine_does_not_change_what_it_is_given() -> None:
    state = case(*composite_steps("mpp.vehicle_ownership_transfer"), status=S.SUBMITTED, data=TRANSFER_DATA)
    before = copy.deepcopy(state)
    decide(state, CATALOGUE)
    decide_cancel(state, CATALOGUE, reason="r")
    assert state == before


# ------------------------------------------------------------------ cancel


def test_cancel_skips_waiting_steps_asks_cancellable_agencies_and_notes_the_rest() -> None:
    state = case(
        step("skck", S.IN_PROCESS, service="polri.skck_new"),
        step("passport", S.ACCEPTED, service="imigrasi.passport_new"),
        step("sim", S.COMPLETED, service="polri.sim_renewal"),
        step("later", after=("skck",)),
        status=S.IN_PROCESS,
    )

    decisions = decide_cancel(state, CATALOGUE, reason="found a job")

    assert decisions == [
        NoteStep("skck", note="polri cannot cancel a running step; it continues and its result is kept"),
        RequestCancel("passport", agency="imigrasi", reason="found a job"),
        SkipStep("later", note="cancelled before it started: found a job"),
        SetCaseStatus(S.CANCELLED, note="cancelled by the portal: found a job"),
    ]
    assert decisions[1].note == "cancellation requested from imigrasi"
    after = evolve_all(state, decisions)
    assert [s.status for s in after.steps] == [S.IN_PROCESS, S.ACCEPTED, S.COMPLETED, S.CANCELLED], "running steps run on"
    assert decide(after, CATALOGUE) == [] and decide_cancel(after, CATALOGUE, reason="again") == []


def test_a_final_case_cannot_be_cancelled() -> None:
    for final in TERMINAL:
        assert decide_cancel(case(step("a"), status=final), CATALOGUE, reason="r") == []


def test_a_step_of_a_withdrawn_service_is_treated_as_not_cancellable() -> None:
    catalogue = Catalogue({})
    [note, _] = decide_cancel(case(step("a", S.IN_PROCESS, service="imigrasi.passport_new")), catalogue, reason="r")
    assert isinstance(note, NoteStep)


def test_services_are_looked_up_through_the_catalogue_interface() -> None:
    """Anything with ``get(code)`` serves as the engine's catalogue."""

    class One:
        def get(self, code: str) -> Service | None:
            return CATALOGUE.get(code)

    assert started(decide(case(step("a")), One())) == ["a"]
