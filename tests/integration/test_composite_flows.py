"""Cross-agency cases over the real bus: composites (small DAGs with data passed
between steps), bundles of independent services, cancellation and revision."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from adapters.samsat.simulator import data_register
from adapters.sdk.testing.contract_kit import serve
from hub.features.notifications.signing import verify_webhook
from support.samples import halal_self_declare_data
from support.stack import HubStack, step_history

NIK = "1375015203900007"
POLRI_SECRET = "dev-polri-callback-secret"


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    async with hub_stack(
        agencies=("samsat", "polri", "imigrasi", "djp", "bpjph"),
        extra_env={
            "MPP_AGENCIES__DJP__OAUTH_CLIENT_ID": "mpp-hub",
            "MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET": "dev-djp-client-secret",
            "MPP_AGENCIES__BPJPH__API_KEY": "dev-bpjph-api-key",
            "MPP_AGENCIES__BPJPH__POLL_INTERVAL_SECONDS": "0.3",
            "MPP_AGENCIES__POLRI__CALLBACK_SECRET": POLRI_SECRET,
            "MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS": "0.3",
            "MPP_WEBHOOKS__ALLOW_PRIVATE_TARGETS": "true",  # the test's receiver is on loopback
            "MPP_WEBHOOKS__BACKOFF_BASE_SECONDS": "0.3",
        },
    ) as hub:
        yield hub


@pytest.fixture(autouse=True)
async def quick_agencies(stack: HubStack) -> None:
    await stack.set_knobs("polri", verdict_delay_ms=200, duplicate_callback=False, verdict_fault=None, garble_rate=0.0)
    await stack.set_knobs(
        "imigrasi", polls_per_stage=1, unpaid=False, uncollected=False, forced_status=None, garble_rate=0.0, return_documents=False
    )
    await stack.set_knobs("bpjph", polls_per_stage=1, unpaid=False, forced_status=None, garble_rate=0.0)


def job_seeker_data(**changes: Any) -> dict[str, Any]:
    data = {
        "skck_purpose": "Melamar pekerjaan",
        "address": "Jl. Sudirman No. 5, Benteng Pasar Atas, Bukittinggi",
        "passport_type": "electronic",
        "passport_validity_years": 10,
        "appointment_date": (date.today() + timedelta(days=3)).isoformat(),
        "supporting_document": "birth_certificate",
        "licence_class": "C",
        "old_sim_number": "123456789012",
        "old_sim_valid_until": (date.today() + timedelta(days=20)).isoformat(),
    }
    return {**data, **changes}


async def test_job_seeker_pack_runs_skck_passport_and_sim_in_parallel_and_completes(stack: HubStack) -> None:
    case_id = await stack.submit(
        {"service": "mpp.job_seeker_pack", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": job_seeker_data()}
    )

    case = (await stack.wait_terminal([case_id], timeout=90))[case_id]

    assert case["status"] == "COMPLETED", case["error"]
    assert case["kind"] == "composite"
    assert {s["name"]: (s["agency"], s["status"]) for s in case["steps"]} == {
        "skck": ("polri", "COMPLETED"),
        "passport": ("imigrasi", "COMPLETED"),
        "sim": ("polri", "COMPLETED"),
    }
    history = step_history(case)
    first_completion = next(i for i, (_, status) in enumerate(history) if status == "COMPLETED")
    assert {name for name, status in history[:first_completion] if status == "ROUTED"} == {"skck", "passport", "sim"}, (
        "independent steps start together"
    )
    assert set(case["outputs"]) == {"skck", "passport", "sim"}
    assert case["outputs"]["skck"]["skck_number"].startswith("SKCK")


async def test_a_composite_request_with_bad_data_is_refused_naming_the_request_fields(stack: HubStack) -> None:
    data = job_seeker_data(passport_type="golden", unexpected="x")
    del data["address"]
    async with stack.client() as client:
        response = await client.post(
            "/v1/requests", json={"service": "mpp.job_seeker_pack", "applicant": {"nik": NIK, "name": "Siti"}, "data": data}
        )

    assert response.status_code == 422
    fields = {e["field"]: e["type"] for e in response.json()["errors"]}
    assert fields == {"data.address": "missing", "data.passport_type": "enum", "data.unexpected": "extra_forbidden"}


async def test_several_independent_services_in_one_request_complete_together(stack: HubStack) -> None:
    body = {
        "applicant": {"nik": NIK, "name": "Siti Rahmah"},
        "items": [
            {"service": "samsat.pkb_annual", "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"}},
            {"service": "polri.skck_new", "data": {"purpose": "Melamar pekerjaan", "address": "Jl. Sudirman No. 5, Bukittinggi"}},
        ],
    }
    case_id = await stack.submit(body)

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert (case["kind"], case["status"]) == ("bundle", "COMPLETED")
    assert {(s["name"], s["service"], s["status"]) for s in case["steps"]} == {
        ("item1", "samsat.pkb_annual", "COMPLETED"),
        ("item2", "polri.skck_new", "COMPLETED"),
    }
    assert case["outputs"]["item1"]["billing_code"].startswith("13")  # Samsat's regional-tax payment code


async def test_a_bundle_item_with_bad_data_is_named_by_its_position(stack: HubStack) -> None:
    body = {
        "applicant": {"nik": NIK, "name": "Siti"},
        "items": [{"service": "samsat.pkb_annual", "data": {"plate": "XX 1", "vehicle_type": "car"}}, {"service": "nope.unknown"}],
    }
    async with stack.client() as client:
        response = await client.post("/v1/requests", json=body)
    assert response.status_code == 422
    assert {e["field"]: e["type"] for e in response.json()["errors"]} == {
        "items.0.data.plate": "plate_invalid",
        "items.1.service": "unknown_service",
    }


async def test_cancelling_a_case_after_it_finished_is_refused(stack: HubStack) -> None:
    case_id = await stack.submit(
        {"service": "samsat.pkb_annual", "applicant": {"nik": NIK, "name": "Siti"}, "data": {"plate": "BA 77 LB", "vehicle_type": "car"}}
    )
    await stack.wait_terminal([case_id], timeout=60)
    async with stack.client() as client:
        response = await client.post(f"/v1/requests/{case_id}/cancel", json={"reason": "changed my mind"})
    assert response.status_code == 409
    assert response.json()["code"] == "request_already_final"


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


async def wait_step(stack: HubStack, case_id: str, name: str, status: str, timeout: float = 30) -> None:
    """Wait until the case's step ``name`` shows ``status``."""

    async def reached() -> bool:
        return any(s["name"] == name and s["status"] == status for s in (await stack.case(case_id))["steps"])

    await wait_for(reached, timeout)


async def test_the_portal_receives_every_change_of_its_case_as_a_signed_webhook_even_after_its_receiver_failed(stack: HubStack) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    failures_left = [2]
    receiver = FastAPI()

    @receiver.post("/hooks")
    async def hook(request: Request) -> Response:
        if failures_left[0] > 0:
            failures_left[0] -= 1
            return Response(status_code=503)
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    async with serve(receiver) as receiver_url, stack.client() as client:
        created = await client.post("/v1/webhooks", json={"url": f"{receiver_url}/hooks"})
        assert created.status_code == 201, created.text
        secret, hook_id = created.json()["secret"], created.json()["id"]
        case_id = await stack.submit(
            {
                "service": "samsat.pkb_annual",
                "applicant": {"nik": NIK, "name": "Siti"},
                "data": {"plate": "BA 88 LC", "vehicle_type": "car"},
            }
        )
        await stack.wait_terminal([case_id], timeout=60)

        async def case_completed_delivered() -> bool:
            return any(
                json.loads(body)["case"]["id"] == case_id and json.loads(body)["case"]["status"] == "COMPLETED" for _, body in received
            )

        await wait_for(case_completed_delivered, timeout=60)
        log = (await client.get(f"/v1/webhooks/{hook_id}/deliveries")).json()

    events = [json.loads(body) for _, body in received if json.loads(body)["case"]["id"] == case_id]
    for headers, body in received:
        verify_webhook(secret, body, headers["x-mpp-signature"])  # raises if forged or stale
    assert [e["event_id"] for e in events] == sorted(e["event_id"] for e in events), "in order"
    assert [e["to_status"] for e in events if e["step"] is None] == ["SUBMITTED", "ROUTED", "COMPLETED"]
    assert NIK not in json.dumps(events)
    deliveries = log["items"] if isinstance(log, dict) else log
    assert any(d["attempts"] >= 3 and d["status"] == "delivered" for d in deliveries), "the first event was retried after two failures"


SELLER_NIK = "1375015203900007"  # the registered owner in the simulated registers
BUYER_NIK = "1375020101850011"


def transfer_body(plate: str, **changes: Any) -> dict[str, Any]:
    register = data_register(plate)
    assert register is not None
    data = {
        "plate": plate,
        "vehicle_type": "car",
        "chassis_number": register.nomor_rangka,
        "engine_number": register.nomor_mesin,
        "previous_owner_nik": SELLER_NIK,
        "bpkb_number": register.no_bpkb,
        "sale_receipt_number": "KW/2026/0142",
        "sale_receipt_stamped": True,
    }
    return {
        "service": "mpp.vehicle_ownership_transfer",
        "applicant": {"nik": BUYER_NIK, "name": "Rudi Hartono"},
        "data": {**data, **changes},
    }


async def test_ownership_transfer_runs_the_police_check_then_samsat_with_its_result(stack: HubStack) -> None:
    samsat_before = (await stack.ledger("samsat"))["applied"]
    case_id = await stack.submit(transfer_body("BA 2024 LA"))

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "COMPLETED", case["error"]
    steps = {s["name"]: s for s in case["steps"]}
    assert steps["transfer"]["depends_on"] == ["police_check"]
    history = step_history(case)
    assert history.index(("police_check", "COMPLETED")) < history.index(("transfer", "ROUTED")), "the transfer waits for the check"
    assert case["outputs"]["transfer"]["billing_code"].startswith("13")
    assert case["outputs"]["police_check"]["physical_check"]["chassis_number"] == data_register("BA 2024 LA").nomor_rangka  # type: ignore[union-attr]
    assert (await stack.ledger("samsat"))["applied"] == samsat_before + 1


async def test_a_refused_police_check_ends_the_case_rejected_and_the_transfer_never_starts(stack: HubStack) -> None:
    samsat_before = (await stack.ledger("samsat"))["applied"]
    case_id = await stack.submit(transfer_body("BA 1313 LA"))  # serial ending in 13: reported stolen/blocked

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "REJECTED"
    assert case["error"]["code"] == "vehicle_blocked" and case["error"]["message"].startswith("police_check:")
    steps = {s["name"]: s["status"] for s in case["steps"]}
    assert steps == {"police_check": "REJECTED", "transfer": "CANCELLED"}
    assert ("transfer", "ROUTED") not in step_history(case)
    assert (await stack.ledger("samsat"))["applied"] == samsat_before


async def test_cancelling_midway_skips_the_waiting_transfer_and_keeps_the_running_check(stack: HubStack) -> None:
    await stack.set_knobs("polri", verdict_delay_ms=4000)
    samsat_before = (await stack.ledger("samsat"))["applied"]
    case_id = await stack.submit(transfer_body("BA 2025 LB"))

    await wait_step(stack, case_id, "police_check", "ACCEPTED")
    async with stack.client() as client:
        cancelled = await client.post(f"/v1/requests/{case_id}/cancel", json={"reason": "buyer withdrew"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"

    await wait_step(stack, case_id, "police_check", "COMPLETED")  # Polri cannot cancel: its verdict still arrives and is kept
    async with stack.client() as client:
        case = (await client.get(f"/v1/requests/{case_id}")).json()
    assert case["status"] == "CANCELLED"
    assert {s["name"]: s["status"] for s in case["steps"]} == {"police_check": "COMPLETED", "transfer": "CANCELLED"}
    assert any("cannot cancel" in (h["note"] or "") for h in case["history"])
    assert (await stack.ledger("samsat"))["applied"] == samsat_before, "the skipped transfer never reached Samsat"


def food_business_body(nik: str = NIK) -> dict[str, Any]:
    return {
        "service": "mpp.food_business_start",
        "applicant": {"nik": nik, "name": "Siti Rahmah"},
        "data": halal_self_declare_data(),
    }


async def test_food_business_confirms_tax_status_then_certifies_halal_with_it(stack: HubStack) -> None:
    case_id = await stack.submit(food_business_body())

    case = (await stack.wait_terminal([case_id], timeout=90))[case_id]

    assert case["status"] == "COMPLETED", case["error"]
    steps = {s["name"]: s for s in case["steps"]}
    assert (steps["kswp"]["agency"], steps["halal"]["agency"]) == ("djp", "bpjph")
    assert case["outputs"]["kswp"]["status"] == "VALID"
    assert case["outputs"]["halal"]["certificate_number"]
    history = step_history(case)
    assert history.index(("kswp", "COMPLETED")) < history.index(("halal", "ROUTED"))


async def test_a_passport_returned_for_correction_is_resubmitted_and_completes(stack: HubStack) -> None:
    await stack.set_knobs("imigrasi", return_documents=True)
    body = {
        "service": "imigrasi.passport_new",
        "applicant": {"nik": NIK, "name": "Siti Rahmah"},
        "data": {
            "passport_type": "electronic",
            "validity_years": 10,
            "appointment_date": (date.today() + timedelta(days=3)).isoformat(),
            "supporting_document": "birth_certificate",
        },
    }
    case_id = await stack.submit(body)

    await stack.wait_status(case_id, "NEEDS_REVISION", timeout=30)
    await stack.set_knobs("imigrasi", return_documents=False)
    async with stack.client() as client:
        case = (await client.get(f"/v1/requests/{case_id}")).json()
        [returned_step] = case["steps"]
        assert returned_step["error"]["code"] == "documents_inconsistent"
        resubmitted = await client.post(
            f"/v1/requests/{case_id}/steps/{returned_step['id']}/revision",
            json={"data": {**body["data"], "supporting_document": "marriage_book"}},
        )
    assert resubmitted.status_code == 202, resubmitted.text

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "COMPLETED"
    old, new = sorted(case["steps"], key=lambda s: s["superseded_by"] is None)
    assert (old["status"], old["superseded_by"]) == ("CANCELLED", new["id"])
    assert new["status"] == "COMPLETED"
    case_moves = [(h["from_status"], h["to_status"]) for h in case["history"] if h["step_id"] is None]
    assert ("NEEDS_REVISION", "ROUTED") in case_moves
    ledger = await stack.ledger("imigrasi")
    keys = {e["key"] for e in ledger["entries"]}
    assert {old["id"], new["id"]} <= keys, "the revision went to the agency under a new idempotency key"


async def test_a_returned_step_of_a_cancelled_case_cannot_be_resubmitted(stack: HubStack) -> None:
    """BPJPH cannot cancel: its returned step stays NEEDS_REVISION after the citizen
    cancels, but a cancelled case sends nothing more to any agency."""
    body = food_business_body()
    body["data"]["products"] = [
        {"name": "Keripik balado", "ingredients": ["singkong", "cabai", "perisa ayam"]}
    ]  # flavouring without its certificate
    case_id = await stack.submit(body)

    await stack.wait_status(case_id, "NEEDS_REVISION", timeout=60)
    async with stack.client() as client:
        assert (await client.post(f"/v1/requests/{case_id}/cancel", json={"reason": "closing the shop"})).status_code == 200
        case = (await client.get(f"/v1/requests/{case_id}")).json()
        halal = next(s for s in case["steps"] if s["name"] == "halal")
        assert (case["status"], halal["status"]) == ("CANCELLED", "NEEDS_REVISION")
        fixed = halal_self_declare_data(
            products=[{"name": "Keripik balado", "ingredients": ["singkong", "cabai", "perisa ayam (ID13110000123450124)"]}]
        )
        response = await client.post(f"/v1/requests/{case_id}/steps/{halal['id']}/revision", json={"data": fixed})
        after = (await client.get(f"/v1/requests/{case_id}")).json()
    assert (response.status_code, response.json()["code"]) == (409, "request_already_final")
    assert [s["id"] for s in after["steps"]] == [s["id"] for s in case["steps"]], "no revised step was created"


async def test_a_revision_of_a_step_that_was_not_returned_is_refused(stack: HubStack) -> None:
    case_id = await stack.submit(
        {"service": "samsat.pkb_annual", "applicant": {"nik": NIK, "name": "Siti"}, "data": {"plate": "BA 99 LD", "vehicle_type": "car"}}
    )
    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]
    async with stack.client() as client:
        response = await client.post(
            f"/v1/requests/{case_id}/steps/{case['steps'][0]['id']}/revision", json={"data": {"plate": "BA 99 LD", "vehicle_type": "car"}}
        )
    assert response.status_code == 409
    assert response.json()["code"] == "step_not_awaiting_revision"


async def test_cancelling_asks_an_agency_that_can_cancel_to_stop_its_running_step(stack: HubStack) -> None:
    await stack.set_knobs("imigrasi", polls_per_stage=1000)  # the passport application stays open at Imigrasi
    await stack.set_knobs("polri", verdict_delay_ms=3000)
    case_id = await stack.submit(
        {"service": "mpp.job_seeker_pack", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": job_seeker_data()}
    )

    await wait_step(stack, case_id, "passport", "ACCEPTED")
    async with stack.client() as client:
        assert (await client.post(f"/v1/requests/{case_id}/cancel", json={"reason": "found a job abroad elsewhere"})).status_code == 200

    await wait_step(stack, case_id, "passport", "CANCELLED")
    async with stack.client() as client:
        case = (await client.get(f"/v1/requests/{case_id}")).json()
    assert case["status"] == "CANCELLED"
    passport = next(s for s in case["steps"] if s["name"] == "passport")
    notes = [h["note"] or "" for h in case["history"] if h["step_id"] == passport["id"]]
    assert any("cancellation requested from imigrasi" in n for n in notes)
