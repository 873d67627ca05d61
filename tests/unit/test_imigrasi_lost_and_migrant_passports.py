"""Specification of Imigrasi's lost/damaged passport replacement, the free first passport
of a migrant worker (PMI), and the 10-year passport rule, through the adapter against
the simulator (SOAP, polled).

Facts: docs/domain-sources.md, "Imigrasi": Permenkumham 18/2022 art. 2A(2) (10 years
only from 17 or married); PP 45/2024 (fees; art. 5(1) tarif nol rupiah for a first-time
migrant worker); the lost/damaged charge of Rp1,000,000 / Rp500,000.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.imigrasi.adapter import ImigrasiAdapter, ImigrasiSettings
from adapters.imigrasi.contract import NIK_ANAK, REPORT_NUMBER, migrant_worker_data
from adapters.imigrasi.simulator import WIB, ImigrasiKnobs, create_app, usia
from adapters.sdk import AgencyRejection
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand, StepStatusReport
from schemas.services.imigrasi import MigrantWorkerPassportOutput, PassportLostDamagedInput, PassportLostDamagedOutput, PassportNewOutput

ADULT = "1375015203900007"  # woman born 12-03-1990
TODAY = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday
PASSPORT = {"passport_type": "electronic", "validity_years": 10, "appointment_date": "2026-01-21", "supporting_document": "diploma"}


def command(operation: str, data: dict[str, Any], nik: str = ADULT) -> StepCommand:
    return StepCommand(service=f"imigrasi.{operation}", operation=operation, applicant=Applicant(nik=nik, name="Siti Rahmah"), data=data)


@pytest.fixture
async def adapter() -> AsyncIterator[ImigrasiAdapter]:
    app = create_app(ImigrasiKnobs(polls_per_stage=1), clock=lambda: TODAY)
    instance = ImigrasiAdapter(
        ImigrasiSettings(base_url="http://imigrasi.test", poll_interval_seconds=0.3),  # type: ignore[arg-type]
        transport=httpx.ASGITransport(app=app),
    )
    yield instance
    await instance.aclose()
    app.state.simulator.runtime.ledger.close()


async def run(adapter: ImigrasiAdapter, step: StepCommand) -> list[StepStatusReport]:
    step_id = uuid.uuid4()
    reports = [await adapter.execute(step, step_id)]
    while not reports[-1].status.is_terminal:
        assert reports[-1].agency_ref is not None
        reports.append(await adapter.poll(step, step_id, reports[-1].agency_ref))
    return reports


# --- the 10-year passport rule ----------------------------------------------------------


def test_the_age_is_read_from_the_nik() -> None:
    assert usia(ADULT, TODAY.date()) == 35
    assert usia(NIK_ANAK, TODAY.date()) == 10  # girl born 05-06-2015


async def test_a_ten_year_passport_for_an_unmarried_child_is_refused_with_the_rule(adapter: ImigrasiAdapter) -> None:
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(command("passport_new", PASSPORT, nik=NIK_ANAK), uuid.uuid4())
    assert (refused.value.code, refused.value.agency_code) == ("ten_year_passport_not_allowed", "MASA_BERLAKU_TIDAK_DIIZINKAN")
    assert "17 tahun atau sudah menikah" in str(refused.value)


async def test_a_child_may_have_five_years_and_a_married_one_ten(adapter: ImigrasiAdapter) -> None:
    five = await run(adapter, command("passport_new", PASSPORT | {"validity_years": 5}, nik=NIK_ANAK))
    married = await run(adapter, command("passport_new", PASSPORT | {"married": True}, nik=NIK_ANAK))
    assert PassportNewOutput.model_validate(five[-1].outputs).amount_paid == 650_000  # e-passport, 5 years
    assert PassportNewOutput.model_validate(married[-1].outputs).validity_years == 10


# --- lost or damaged ---------------------------------------------------------------


async def test_a_lost_passport_is_replaced_after_the_bap_for_the_fee_plus_rp1000000(adapter: ImigrasiAdapter) -> None:
    reports = await run(adapter, command("passport_lost_damaged", PASSPORT | {"reason": "lost", "police_report_number": REPORT_NUMBER}))
    assert [r.status for r in reports][-1] is Status.COMPLETED
    output = PassportLostDamagedOutput.model_validate(reports[-1].outputs)
    assert (output.amount_paid, output.charge) == (950_000 + 1_000_000, 1_000_000)
    assert output.examination_number.startswith("BAP/AGM/")
    assert output.replaced_passport_number is None  # the lost passport's number was not given


async def test_a_damaged_passport_costs_rp500000_more_and_force_majeure_nothing_more(adapter: ImigrasiAdapter) -> None:
    damaged = PASSPORT | {"reason": "damaged", "old_passport_number": "X1234567", "passport_type": "non_electronic", "validity_years": 5}
    plain = PassportLostDamagedOutput.model_validate((await run(adapter, command("passport_lost_damaged", damaged)))[-1].outputs)
    flood = PassportLostDamagedOutput.model_validate(
        (await run(adapter, command("passport_lost_damaged", damaged | {"force_majeure": True})))[-1].outputs
    )
    assert (plain.amount_paid, plain.charge, plain.replaced_passport_number) == (850_000, 500_000, "X1234567")
    assert (flood.amount_paid, flood.charge) == (350_000, 0)


def test_a_lost_passport_needs_the_police_report_and_a_damaged_one_its_number() -> None:
    with pytest.raises(ValidationError, match="police_report_number is required"):
        PassportLostDamagedInput.model_validate(PASSPORT | {"reason": "lost"})
    with pytest.raises(ValidationError, match="old_passport_number is required"):
        PassportLostDamagedInput.model_validate(PASSPORT | {"reason": "damaged"})


# --- the migrant worker's first passport --------------------------------------------------


async def test_a_migrant_workers_first_passport_is_free_non_electronic_and_never_awaits_payment(adapter: ImigrasiAdapter) -> None:
    data = migrant_worker_data(TODAY.date() + timedelta(days=150)) | {"appointment_date": "2026-01-21"}
    reports = await run(adapter, command("passport_migrant_worker", data))
    assert [r.status for r in reports] == [Status.ACCEPTED, Status.IN_PROCESS, Status.READY_FOR_PICKUP, Status.COMPLETED]
    output = MigrantWorkerPassportOutput.model_validate(reports[-1].outputs)
    assert (output.amount_paid, output.passport_type.value, output.validity_years) == (0, "non_electronic", 5)
    assert output.passport_number.startswith("X")
    assert all("billing_code" not in r.outputs for r in reports)


async def test_an_skck_that_expires_before_the_interview_is_refused(adapter: ImigrasiAdapter) -> None:
    data = migrant_worker_data(date(2026, 1, 20)) | {"appointment_date": "2026-01-21"}
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(command("passport_migrant_worker", data), uuid.uuid4())
    assert (refused.value.code, refused.value.agency_code) == ("skck_expired", "SKCK_TIDAK_BERLAKU")
