"""Specification of the building approval (PBG) through SIMBG in the OSS agency:
the simulator's stages and rules (adapters/oss/simbg.py) and the adapter's mapping
(adapters/oss/pbg.py), the adapter running against the simulator in process.

The building's risk decides the path: a house to a ministry prototype design skips the
expert team's consultation; anything else goes through it, and a building above the
simulated zoning's height is refused there. The retribution is billed before the PBG is
issued.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.oss import DEV_CREDENTIALS
from adapters.oss.adapter import OssAdapter, OssSettings
from adapters.oss.contract import pbg_command
from adapters.oss.simbg import LANTAI_MAKSIMUM, TARIF_PER_M2, KeadaanPbg
from adapters.oss.simulator import create_app
from adapters.sdk import AgencyAnswerInvalid
from adapters.sdk.testing.client import against_simulator
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.pbg import PbgApplicationOutput


@pytest.fixture
async def adapter() -> AsyncIterator[OssAdapter]:
    app = create_app()
    settings = OssSettings.model_validate({**DEV_CREDENTIALS, "base_url": "http://oss.test", "poll_interval_seconds": 7})
    async with against_simulator(app, lambda t: OssAdapter(settings, transport=t)) as adapter:
        yield adapter


async def run(adapter: OssAdapter, step: StepCommand) -> list[StepStatusReport]:
    """Apply, then poll until the application is decided; every report on the way."""
    step_id = uuid.uuid4()
    reports = [await adapter.execute(step, step_id)]
    while not reports[-1].status.is_terminal:
        assert len(reports) < 10, [r.status for r in reports]
        assert reports[-1].agency_ref is not None
        reports.append(await adapter.poll(step, step_id, reports[-1].agency_ref))
    return reports


async def test_a_house_to_a_prototype_design_skips_the_consultation_pays_the_retribution_and_gets_its_pbg(adapter: OssAdapter) -> None:
    reports = await run(adapter, pbg_command())

    assert [r.agency_status for r in reports] == ["VERIFIKASI_DOKUMEN", "SPPST_TERBIT", "RETRIBUSI_DITETAPKAN", "PBG_TERBIT"]
    assert [r.status for r in reports] == [Status.ACCEPTED, Status.IN_PROCESS, Status.AWAITING_PAYMENT, Status.COMPLETED]
    assert all(r.poll_after_seconds == 7 for r in reports[:-1]), "the poller asks again after the configured interval"
    billed = reports[2].outputs
    assert billed["retribution_amount"] == 72 * TARIF_PER_M2 and billed["retribution_billing_code"].startswith("SKRD-1375-")
    approval = PbgApplicationOutput.model_validate(reports[-1].outputs)
    assert approval.review_path == "prototype"
    assert (approval.retribution_amount, approval.retribution_billing_code) == (
        billed["retribution_amount"],
        billed["retribution_billing_code"],
    )
    assert approval.pbg_number.startswith("PBG-1375-") and approval.sppst_number.startswith("SPPST/1375/")


async def test_a_building_without_a_prototype_goes_through_the_expert_teams_consultation(adapter: OssAdapter) -> None:
    reports = await run(adapter, pbg_command(building_function="mixed", floors=3, floor_area_m2=240, prototype_design=None))

    assert "KONSULTASI_TPA" in [r.agency_status for r in reports]
    approval = PbgApplicationOutput.model_validate(reports[-1].outputs)
    assert approval.review_path == "technical_consultation"
    assert approval.retribution_amount == 240 * TARIF_PER_M2 * 2, "a mixed-use building's index is 2"


@pytest.mark.parametrize("changes", [{"prototype_design": "T99-Z9"}, {"floors": 3}, {"building_function": "business"}])
async def test_only_a_low_rise_house_to_a_known_prototype_takes_the_prototype_path(adapter: OssAdapter, changes: dict[str, Any]) -> None:
    reports = await run(adapter, pbg_command(**changes))

    assert PbgApplicationOutput.model_validate(reports[-1].outputs).review_path == "technical_consultation"


async def test_a_building_above_the_zonings_height_is_refused_by_the_expert_team_before_any_billing(adapter: OssAdapter) -> None:
    reports = await run(
        adapter, pbg_command(building_function="business", floors=LANTAI_MAKSIMUM + 2, floor_area_m2=1800, prototype_design=None)
    )

    final = reports[-1]
    assert final.status is Status.REJECTED and final.error is not None
    assert (final.error.code, final.error.agency_code) == ("building_exceeds_height_limit", "MELEBIHI_KETINGGIAN_MAKSIMUM")
    assert not any("retribution_billing_code" in r.outputs for r in reports)


async def test_the_same_step_applies_once(adapter: OssAdapter) -> None:
    step, step_id = pbg_command(), uuid.uuid4()
    first = await adapter.execute(step, step_id)
    again = await adapter.execute(step, step_id)
    assert first.agency_ref == again.agency_ref


async def test_an_unknown_simbg_status_fails_the_step_naming_it() -> None:
    answer = {"nomor_registrasi": "PBG-1", "status": "DIBEKUKAN", "jalur": "PROTOTIPE", "keterangan": "?"}

    def simbg(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/token"):
            return httpx.Response(
                200, json={"status": 200, "message": "Sukses", "data": {"access_token": "t", "token_type": "Bearer", "expires_in": 300}}
            )
        return httpx.Response(200, json={"status": 200, "message": "Sukses", "data": answer})

    settings = OssSettings.model_validate({**DEV_CREDENTIALS, "base_url": "http://oss.test"})
    adapter = OssAdapter(settings, transport=httpx.MockTransport(simbg))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.poll(pbg_command(), uuid.uuid4(), "PBG-1")
    assert (caught.value.code, caught.value.agency_code) == ("agency_status_unknown", "DIBEKUKAN")
    KeadaanPbg.model_validate(answer)  # well-formed: only the status is new


async def test_a_nib_registration_is_never_polled(adapter: OssAdapter) -> None:
    nib = StepCommand(**{**pbg_command().model_dump(), "service": "oss.nib_registration", "operation": "nib_registration"})
    with pytest.raises(AgencyAnswerInvalid, match="nothing to poll"):
        await adapter.poll(nib, uuid.uuid4(), "PBG-1")
