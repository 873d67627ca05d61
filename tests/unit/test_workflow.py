"""How a case's status follows its steps, and how composite request data is checked."""

from __future__ import annotations

import pytest

from hub.catalogue import Catalogue
from hub.domain.engine import aggregate
from hub.domain.inputs import check_composite_request
from schemas.lifecycle import Status
from support.samples import APPLICANT, vehicle_transfer_data

S = Status


@pytest.mark.parametrize(
    ("steps", "case"),
    [
        ([S.COMPLETED], S.COMPLETED),
        ([S.ACCEPTED], S.ACCEPTED),
        ([S.ROUTED, S.SUBMITTED], S.IN_PROCESS),
        ([S.ROUTED, S.ROUTED, S.ROUTED], S.ROUTED),
        ([S.IN_PROCESS, S.ACCEPTED], S.IN_PROCESS),
        ([S.COMPLETED, S.SUBMITTED], S.IN_PROCESS),
        ([S.IN_PROCESS, S.AWAITING_PAYMENT], S.AWAITING_PAYMENT),
        ([S.AWAITING_PAYMENT, S.NEEDS_REVISION], S.NEEDS_REVISION),
        ([S.COMPLETED, S.COMPLETED], S.COMPLETED),
        ([S.REJECTED, S.CANCELLED], S.REJECTED),
        ([S.COMPLETED, S.FAILED, S.REJECTED], S.REJECTED),
        ([S.COMPLETED, S.FAILED], S.FAILED),
        ([S.EXPIRED, S.COMPLETED], S.EXPIRED),
        ([S.CANCELLED, S.COMPLETED], S.CANCELLED),
        ([S.REJECTED, S.IN_PROCESS], S.IN_PROCESS),
    ],
)
def test_case_status_follows_its_steps(steps: list[Status], case: Status) -> None:
    assert aggregate(steps) is case


def test_a_single_step_case_mirrors_its_step() -> None:
    for status in Status:
        if status is not Status.SUBMITTED:
            assert aggregate([status]) is status


def test_composite_data_errors_are_named_in_the_request_and_normalised_values_kept() -> None:
    catalogue = Catalogue.load()
    composite = catalogue.composite("mpp.vehicle_ownership_transfer")
    assert composite is not None
    applicant = APPLICANT
    good = vehicle_transfer_data()

    data, problems = check_composite_request(composite, catalogue, good, applicant)
    assert [(p.loc, p.type) for p in problems] == []
    assert data["plate"] == "BA 2024 LA"

    bad = {**good, "plate": "XX", "surprise": 1}
    del bad["bpkb_number"]
    _, problems = check_composite_request(composite, catalogue, bad, applicant)
    assert {(".".join(map(str, p.loc)), p.type) for p in problems} == {
        ("data.plate", "plate_invalid"),
        ("data.bpkb_number", "missing"),
        ("data.surprise", "extra_forbidden"),
    }, "physical_check comes from the police step, so it is not reported missing"


def test_a_rule_across_fields_waits_for_the_fields_earlier_steps_feed() -> None:
    """A lost STNK needs the police report's number, which the loss-report step produces:
    the request is not refused for it, but a field the portal sends wrong still is."""
    catalogue = Catalogue.load()
    composite = catalogue.composite("mpp.lost_wallet")
    assert composite is not None
    data = {
        "lost_items": [{"kind": "stnk"}],
        "lost_on": "2026-01-13",
        "place": "Pasar Atas",
        "chronology": "Dompet hilang di Pasar Atas.",
        "plate": "BA 1234 LZ",
        "vehicle_type": "car",
        "bpkb_number": "P12345678",
        "physical_check": {"chassis_number": "MHABCDEFGHJKLMNPR", "engine_number": "ABC1234567"},
        "passport_type": "electronic",
        "passport_validity_years": 10,
        "appointment_date": "2026-01-21",
        "supporting_document": "diploma",
    }
    applicant = {"nik": "1375015203900007", "name": "Siti"}

    assert check_composite_request(composite, catalogue, data, applicant)[1] == []
    _, problems = check_composite_request(composite, catalogue, {**data, "vehicle_type": "truck"}, applicant)
    assert [(".".join(map(str, p.loc)), p.type) for p in problems] == [("data.vehicle_type", "enum")]
