"""Specification of DJP's NPWP registration of a business entity (NPWP badan): the
simulator's rules and the adapter's mapping, the adapter against the simulator.

Facts: docs/domain-sources.md, "DJP" (PMK 112/2022: a 16-digit NPWP '0' + the 15-digit
form and a NITKU per place of business; registration with the deed and the officers).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from adapters.djp.adapter import DjpAdapter
from adapters.djp.contract import entity_registration
from adapters.djp.simulator import WIB, cek_luhn, create_app, npwp_badan
from adapters.sdk import AgencyRejection, BackendSettings
from adapters.sdk.testing.client import against_simulator
from schemas.identifiers import normalize_npwp
from schemas.lifecycle import Status
from schemas.messages import StepCommand
from schemas.services.djp import EntityNpwpOutput

NIK_NOT_IN_DUKCAPIL = "1375010101900100"


@pytest.fixture
async def adapter() -> AsyncIterator[DjpAdapter]:
    app = create_app(clock=lambda: datetime(2026, 1, 14, 9, 30, tzinfo=WIB))
    settings = BackendSettings.model_validate(
        {"base_url": "http://djp.test", "oauth_client_id": "mpp-hub", "oauth_client_secret": "dev-djp-client-secret"}
    )
    async with against_simulator(app, lambda t: DjpAdapter(settings, transport=t)) as instance:
        yield instance


def test_an_entity_npwp_is_0_01_serial_luhn_kpp_000_and_valid_by_the_canonical_rules() -> None:
    npwp = npwp_badan("12", "202")
    assert (npwp[:3], npwp[9], npwp[10:]) == ("001", cek_luhn(npwp[1:9]), "202000")
    assert normalize_npwp(npwp) == npwp  # the hub's own check digit rule agrees


async def test_a_cv_gets_its_npwp_and_head_office_nitku(adapter: DjpAdapter) -> None:
    report = await adapter.execute(entity_registration(), uuid.uuid4())
    output = EntityNpwpOutput.model_validate(report.outputs)
    assert report.status is Status.COMPLETED
    assert output.nitku == output.npwp + "000000"
    assert (output.tax_office_code, output.registered_on.isoformat()) == ("202", "2026-01-14")


async def test_the_same_step_is_registered_once_and_another_step_for_the_same_deed_is_refused(adapter: DjpAdapter) -> None:
    step = uuid.uuid4()
    first = await adapter.execute(entity_registration(), step)
    again = await adapter.execute(entity_registration(), step)
    assert again.outputs == first.outputs
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(entity_registration(), uuid.uuid4())
    assert (refused.value.code, refused.value.agency_code) == ("entity_already_registered", "BADAN_SUDAH_TERDAFTAR")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (entity_registration(deed_number="20", applicant="1375024506850091"), "applicant_not_an_officer"),
        (entity_registration(NIK_NOT_IN_DUKCAPIL, deed_number="21", applicant=NIK_NOT_IN_DUKCAPIL), "nik_not_matched"),
    ],
    ids=["applicant-not-an-officer", "officer-not-in-dukcapil"],
)
async def test_refusals_on_the_merits(adapter: DjpAdapter, command: StepCommand, code: str) -> None:
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(command, uuid.uuid4())
    assert refused.value.code == code
