"""The two newer Samsat services through the whole hub: 5-year STNK renewal with new
plates, and ownership transfer (balik nama, BBN-KB). Every process separate, real
Kafka, real PostgreSQL, the Samsat simulator as the agency.

The papers the simulator expects (BPKB, chassis and engine numbers) come from its
documented register (``data_register``), as the counter officer would read them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import pytest

from adapters.samsat.simulator import data_register
from schemas.identifiers import normalize_plate
from support.stack import COMPLETED_AT_ONCE, HubStack, case_transitions

OWNER = "1375015203900007"  # registered owner / seller
BUYER = "1375020101850011"  # the new owner, who applies for the transfer


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    """One hub for the module: the cases are independent and told apart by step id."""
    async with hub_stack() as hub:
        yield hub


def papers(plate: str) -> dict[str, Any]:
    record = data_register(normalize_plate(plate))  # the register knows the plate as the hub normalises it
    assert record is not None
    return {
        "bpkb_number": record.no_bpkb,
        "physical_check": {"chassis_number": record.nomor_rangka, "engine_number": record.nomor_mesin},
    }


def five_year_request(plate: str, vehicle_type: str, **data: Any) -> dict[str, Any]:
    return {
        "service": "samsat.stnk_5year",
        "applicant": {"nik": OWNER, "name": "Siti Rahmah"},
        "data": {"plate": plate, "vehicle_type": vehicle_type, **papers(plate), **data},
    }


def transfer_request(plate: str, vehicle_type: str, **data: Any) -> dict[str, Any]:
    return {
        "service": "samsat.ownership_transfer",
        "applicant": {"nik": BUYER, "name": "Rudi Hartono"},
        "data": {
            "plate": plate,
            "vehicle_type": vehicle_type,
            "previous_owner_nik": OWNER,
            "sale_receipt_number": "KW/2026/0142",
            "sale_receipt_stamped": True,
            **papers(plate),
            **data,
        },
    }


async def run_case(stack: HubStack, body: dict[str, Any]) -> dict[str, Any]:
    async with stack.client() as client:
        accepted = await client.post("/v1/requests", json=body)
    assert accepted.status_code == 202, accepted.text
    case_id = accepted.json()["id"]
    return (await stack.wait_terminal([case_id], timeout=60))[case_id]


async def ledger_entry(stack: HubStack, step_id: str) -> dict[str, Any] | None:
    return next((e for e in (await stack.ledger())["entries"] if e["key"] == step_id), None)


async def test_five_year_renewal_completes_with_a_new_stnk_and_plate_validity(stack: HubStack) -> None:
    case = await run_case(stack, five_year_request("ba 4321 lq", "motorcycle"))

    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert outputs["billing_code"].startswith("13") and len(outputs["billing_code"]) == 15  # Sumbar's regional-tax code
    assert outputs["breakdown"]["stnk_fee"] == 100_000  # 2-wheel, PP 60/2016
    assert outputs["breakdown"]["plate_fee"] == 60_000
    assert outputs["breakdown"]["swdkllj"] == 35_000
    assert outputs["amount"] == sum(outputs["breakdown"].values())
    valid_until = date.fromisoformat(outputs["stnk_valid_until"])
    assert 5 * 365 <= (valid_until - date.today()).days <= 5 * 366 + 1, "a new STNK is valid five years"
    assert outputs["plate_valid_until"] == f"{valid_until:%Y-%m}"

    [step] = case["steps"]
    assert (step["service"], step["agency"], step["status"]) == ("samsat.stnk_5year", "samsat", "COMPLETED")
    assert case_transitions(case) == COMPLETED_AT_ONCE
    entry = await ledger_entry(stack, step["id"])
    assert entry is not None, "the step id is Samsat's idempotency key"
    assert (entry["operation"], entry["subject"]) == ("STNK_LIMA_TAHUNAN", "BA 4321 LQ")


async def test_ownership_transfer_completes_with_the_stnk_and_a_bpkb_estimate(stack: HubStack) -> None:
    case = await run_case(stack, transfer_request("BA 2024 LA", "car"))

    assert case["status"] == "COMPLETED", case
    assert case["applicant_nik_masked"] == "1375**********11", "the new owner is the applicant"
    outputs = case["outputs"]
    breakdown = outputs["breakdown"]
    assert (breakdown["bpkb_fee"], breakdown["stnk_fee"], breakdown["plate_fee"]) == (375_000, 200_000, 100_000)
    assert breakdown["bbnkb"] == 0, "no BBNKB on a used vehicle since 5 Jan 2025 (UU 1/2022 art. 12(1))"
    assert breakdown["pkb"] > 0 and breakdown["swdkllj"] == 143_000
    assert outputs["amount"] == sum(breakdown.values())
    assert len(outputs["stnk_number"]) == 8
    assert "Polda" in outputs["bpkb_note"]
    assert date.fromisoformat(outputs["bpkb_ready_estimate"]) > date.today(), "the BPKB follows later"

    [step] = case["steps"]
    entry = await ledger_entry(stack, step["id"])
    assert entry is not None and (entry["operation"], entry["subject"]) == ("BBNKB_BALIK_NAMA", "BA 2024 LA")


async def test_five_year_renewal_with_another_vehicles_bpkb_is_rejected_with_the_reason(stack: HubStack) -> None:
    other = papers("BA 1 A")["bpkb_number"]
    case = await run_case(stack, five_year_request("BA 1234 LZ", "car", bpkb_number=other))

    assert case["status"] == "REJECTED"
    assert case["error"]["code"] == "bpkb_mismatch"
    assert case["error"]["agency_code"] == "BPKB_TIDAK_SESUAI"
    assert "BPKB" in case["error"]["message"]
    assert await ledger_entry(stack, case["steps"][0]["id"]) is None, "nothing was applied"


async def test_transfer_from_a_seller_who_is_not_the_registered_owner_is_rejected(stack: HubStack) -> None:
    # The simulated register: a NIK ending in 99 is not the vehicle's registered owner.
    case = await run_case(stack, transfer_request("BA 77 LB", "motorcycle", previous_owner_nik="1375015203900099"))

    assert case["status"] == "REJECTED"
    assert case["error"]["code"] == "owner_mismatch"
    assert case["error"]["agency_code"] == "NIK_TIDAK_SESUAI"
    assert await ledger_entry(stack, case["steps"][0]["id"]) is None


async def test_papers_in_the_wrong_shape_are_refused_by_the_api_naming_the_field(stack: HubStack) -> None:
    async with stack.client() as client:
        response = await client.post("/v1/requests", json=five_year_request("BA 1234 LZ", "car", bpkb_number="12345678"))
    assert response.status_code == 422
    assert "bpkb_number" in response.text


async def test_a_garbled_answer_fails_the_case_with_the_reason_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    await stack.set_knobs(garble_rate=1.0)
    try:
        garbled = await run_case(stack, transfer_request("BA 3030 LC", "car"))
    finally:
        await stack.set_knobs(garble_rate=0.0)

    assert garbled["status"] == "FAILED"
    assert garbled["error"]["code"] == "agency_answer_invalid"
    assert "not JSON" in garbled["error"]["message"]

    adapter = stack.processes["adapter:samsat"]
    assert adapter.poll() is None, "the adapter process is still running"
    following = await run_case(stack, five_year_request("BA 3030 LC", "car"))
    assert following["status"] == "COMPLETED"
