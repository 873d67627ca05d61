"""The other new services of the existing agencies through the whole hub (portal API,
outbox, Kafka, router, each adapter a separate process, its simulator): Samsat's
mutation out and in, DJP's NPWP of a business entity, the KUA's recommendation to marry in
another district, and Imigrasi's 10-year passport rule. The lost-document and migrant
worker services run in tests/integration/test_lost_wallet_and_migrant_worker_flows.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import Any

import pytest

from adapters.djp.contract import entity_registration
from adapters.imigrasi.contract import NIK_ANAK
from adapters.kemenag.contract import recommendation_command
from adapters.samsat.contract import mutation_in_command, mutation_out_command
from schemas.messages import StepCommand
from support.stack import HubStack


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    env = {
        "MPP_AGENCIES__DJP__OAUTH_CLIENT_ID": "mpp-hub",
        "MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET": "dev-djp-client-secret",
        "MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS": "0.3",
    }
    async with hub_stack(agencies=("samsat", "djp", "kemenag", "imigrasi"), extra_env=env) as hub:
        yield hub


def request(command: StepCommand) -> dict[str, Any]:
    """The portal's request for what a contract sample sends the agency."""
    applicant = {"nik": command.applicant.nik, "name": command.applicant.name}
    return {"service": command.service, "applicant": applicant, "data": command.data}


async def finish(stack: HubStack, body: dict[str, Any]) -> dict[str, Any]:
    case_id = await stack.submit(body)
    return await stack.finished(case_id, timeout=90)


async def test_a_motorcycle_moves_to_dki_jakarta_with_a_mutation_letter(stack: HubStack) -> None:
    case = await finish(stack, request(mutation_out_command()))
    assert case["status"] == "COMPLETED", case["error"]
    outputs = case["outputs"]
    assert (outputs["amount"], outputs["destination_province"]) == (150_000, "31")
    assert outputs["mutation_letter_number"].startswith("MTS/13-31/")


async def test_a_mutation_within_the_province_is_refused(stack: HubStack) -> None:
    case = await finish(stack, request(mutation_out_command("BA 4322 LQ", destination="13")))
    assert case["status"] == "REJECTED"
    assert case["steps"][0]["error"]["code"] == "mutation_within_province"


async def test_a_car_from_jakarta_is_registered_here_with_ba_plates(stack: HubStack) -> None:
    case = await finish(stack, request(mutation_in_command()))
    assert case["status"] == "COMPLETED", case["error"]
    assert case["outputs"]["new_plate"].startswith("BA ")
    assert case["outputs"]["breakdown"]["bpkb_fee"] == 375_000


async def test_a_cv_registers_for_its_npwp_and_nitku(stack: HubStack) -> None:
    case = await finish(stack, request(entity_registration(deed_number="77")))
    assert case["status"] == "COMPLETED", case["error"]
    assert case["outputs"]["nitku"] == case["outputs"]["npwp"] + "000000"
    assert case["outputs"]["npwp"].startswith("001")


async def test_the_home_kua_recommends_the_bride_to_another_district(stack: HubStack) -> None:
    case = await finish(stack, request(recommendation_command()))
    assert case["status"] == "COMPLETED", case["error"]
    assert (case["outputs"]["issuing_kua_code"], case["outputs"]["destination_kua_code"]) == ("137501", "137105")


async def test_a_ten_year_passport_for_a_ten_year_old_is_refused_with_the_rule(stack: HubStack) -> None:
    data = {
        "passport_type": "electronic",
        "validity_years": 10,
        "appointment_date": (date.today() + timedelta(days=7)).isoformat(),
        "supporting_document": "birth_certificate",
    }
    case = await finish(stack, {"service": "imigrasi.passport_new", "applicant": {"nik": NIK_ANAK, "name": "Putri"}, "data": data})
    assert case["status"] == "REJECTED"
    assert case["steps"][0]["error"]["code"] == "ten_year_passport_not_allowed"
