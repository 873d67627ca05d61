"""A citizen pays the annual vehicle tax through the hub: every process separate,
real Kafka, real PostgreSQL, the Samsat simulator as the agency."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime

import pytest

from support.stack import COMPLETED_AT_ONCE, HubStack, case_transitions, pkb_request


@pytest.fixture
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    async with hub_stack() as hub:
        yield hub


async def test_annual_vehicle_tax_request_completes_with_samsat_outputs_and_full_history(stack: HubStack) -> None:
    async with stack.client() as client:
        accepted = await client.post("/v1/requests", json=pkb_request("1375015203900007", "ba 1234 lz"))
    assert accepted.status_code == 202, accepted.text
    case_id = accepted.json()["id"]
    assert accepted.json()["status"] == "SUBMITTED"

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "COMPLETED", case
    assert case["applicant_nik_masked"] == "1375**********07"
    outputs = case["outputs"]
    assert outputs["billing_code"].startswith("13") and len(outputs["billing_code"]) == 15  # Sumbar's regional-tax code
    assert outputs["breakdown"]["swdkllj"] == 143_000  # private car, Jasa Raharja
    assert outputs["breakdown"]["endorsement_fee"] == 50_000  # 4-wheel, PP 60/2016
    assert outputs["amount"] == sum(outputs["breakdown"].values())
    assert date.fromisoformat(outputs["stnk_valid_until"]) > date.today()

    [step] = case["steps"]
    assert (step["agency"], step["status"]) == ("samsat", "COMPLETED")
    assert case_transitions(case) == COMPLETED_AT_ONCE
    stamps = [datetime.fromisoformat(h["at"]) for h in case["history"]]
    assert all(s.tzinfo is not None for s in stamps) and stamps == sorted(stamps)

    ledger = await stack.ledger()
    assert ledger["applied"] == 1
    assert ledger["entries"][0]["key"] == step["id"], "the step id is Samsat's idempotency key"
    assert ledger["entries"][0]["subject"] == "BA 1234 LZ"


async def test_agency_refusal_ends_the_case_rejected_with_the_reason(stack: HubStack) -> None:
    async with stack.client() as client:
        # Plates numbered above 9000 are not registered at the simulated Samsat.
        accepted = await client.post("/v1/requests", json=pkb_request("1375010101900003", "BA 9100 LA"))
    case_id = accepted.json()["id"]

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "REJECTED"
    assert case["error"]["code"] == "plate_not_registered"
    assert case["error"]["agency_code"] == "NOPOL_TIDAK_TERDAFTAR"
    assert (await stack.ledger())["applied"] == 0


async def test_a_client_cannot_read_another_clients_case(stack: HubStack) -> None:
    async with stack.client() as client:
        case_id = (await client.post("/v1/requests", json=pkb_request("1375015203900007", "BA 1 A"))).json()["id"]
        other = await client.get(f"/v1/requests/{case_id}", headers={"Authorization": "Bearer other-portal-key"})
    assert other.status_code == 404
    assert other.json()["code"] == "request_not_found"
