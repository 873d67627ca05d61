"""Polri over the real bus: applications accepted at once, verdicts called back later.

Every hub process runs separately (API, relay, router, Polri adapter) on a real Kafka
broker and PostgreSQL, with the Polri simulator as the agency. The simulator's signed
callbacks reach the hub's real callback endpoint, travel to the adapter on the bus and
come back as the step's final status. One stack serves the whole module (starting it
is the slow part); each test sets the simulator knobs it needs.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from adapters.polri.simulator import DEV_CALLBACK_SECRET, PolriKnobs, register_kendaraan
from adapters.sdk.callbacks import SIGNATURE_HEADER, sign
from adapters.sdk.testing.clock import add_months
from support.stack import HubStack, agency_env, case_transitions, one_agency_stack

NIK = "1375015203900007"
RECORD_HIT_NIK = "1375010101900013"  # serial 0013: the simulator's criminal-record hit
SKCK_DATA = {"purpose": "Melamar pekerjaan", "address": "Jl. Sudirman No. 5, Benteng Pasar Atas, Bukittinggi"}


def request(service: str, data: dict[str, Any], nik: str = NIK) -> dict[str, Any]:
    return {"service": service, "applicant": {"nik": nik, "name": "Siti Rahmah"}, "data": data}


def skck_new(nik: str = NIK) -> dict[str, Any]:
    return request("polri.skck_new", SKCK_DATA, nik)


def sim_renewal(old_valid_until: date, licence_class: str = "C") -> dict[str, Any]:
    data = {"licence_class": licence_class, "old_sim_number": "1375-0123-4567", "old_valid_until": old_valid_until.isoformat()}
    return request("polri.sim_renewal", data)


def vehicle_check(plate: str = "BA 2024 LA", **changes: str) -> dict[str, Any]:
    """The vehicle as presented, with the register's numbers unless changed."""
    register = register_kendaraan(plate)
    assert register is not None
    data = {"plate": plate, "vehicle_type": "car", "chassis_number": register[0], "engine_number": register[1], **changes}
    return request("polri.vehicle_check", data, "1375020101850011")


# HubStack starts the simulator without --secret, so it signs with its dev default; the
# hub must verify with the same secret. Verdicts and callback retries are quick in tests.
stack, calm_agency = one_agency_stack(
    "polri",
    agency_env("polri", {"callback_secret": DEV_CALLBACK_SECRET, "retry_max_wait_seconds": "0.5"}),
    PolriKnobs(verdict_delay_ms=200, callback_backoff_ms=200),
)


async def finish(stack: HubStack, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    case_id = await stack.submit(body)
    return (await stack.wait_terminal([case_id], timeout=timeout))[case_id]


async def ledger_entry(stack: HubStack, step_id: str) -> dict[str, Any]:
    [entry] = [e for e in (await stack.ledger("polri"))["entries"] if e["key"] == step_id]
    return dict(entry)


async def wait_delivered(stack: HubStack, step_id: str, timeout: float = 20) -> dict[str, Any]:
    """Until the simulator has finished calling back about ``step_id``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = await ledger_entry(stack, step_id)
        if entry["state"]["status_pengiriman"] != "MENUNGGU":
            return entry
        await asyncio.sleep(0.1)
    raise AssertionError(f"Polri never finished calling back about {step_id}")


ACCEPTED_THEN = [
    (False, None, "SUBMITTED"),
    (True, "SUBMITTED", "ROUTED"),
    (False, "SUBMITTED", "ROUTED"),
    (True, "ROUTED", "ACCEPTED"),
    (False, "ROUTED", "ACCEPTED"),
]


# --- happy paths ----------------------------------------------------------------------


async def test_new_skck_is_accepted_then_issued_by_callback(stack: HubStack) -> None:
    case = await finish(stack, skck_new())

    assert case["status"] == "COMPLETED", case
    assert case["applicant_nik_masked"] == "1375**********07"
    outputs = case["outputs"]
    assert re.fullmatch(r"SKCK/YANMAS/\d{5}/[IVX]+/\d{4}/INTELKAM", outputs["skck_number"])
    assert outputs["fee"] == 30_000
    issued = date.fromisoformat(outputs["issued_on"])
    assert date.fromisoformat(outputs["valid_until"]) == add_months(issued, 6)
    assert outputs["registration_number"].startswith("POLRES-BKT/SKCK/")

    [step] = case["steps"]
    assert (step["agency"], step["service"], step["status"]) == ("polri", "polri.skck_new", "COMPLETED")
    assert case_transitions(case) == [*ACCEPTED_THEN, (True, "ACCEPTED", "COMPLETED"), (False, "ACCEPTED", "COMPLETED")]
    callback_note = case["history"][-2]["note"]
    assert callback_note == "adapter:polri"

    entry = await ledger_entry(stack, step["id"])  # the step id is Polri's X-Request-Id
    assert entry["operation"] == "SKCK_BARU"
    assert entry["state"]["callback_url"] == f"{stack.api_url}/v1/callbacks/polri/{step['id']}"
    assert [(a["http_status"], a["duplikat"]) for a in entry["state"]["percobaan"]] == [(202, False)]


async def test_skck_renewal_is_issued(stack: HubStack) -> None:
    data = {
        **SKCK_DATA,
        "old_skck_number": "SKCK/YANMAS/01234/III/2025/INTELKAM",
        "old_skck_valid_until": (date.today() - timedelta(days=40)).isoformat(),
    }
    case = await finish(stack, request("polri.skck_renewal", data))

    assert case["status"] == "COMPLETED", case
    assert case["outputs"]["fee"] == 30_000
    assert case["outputs"]["skck_number"].startswith("SKCK/YANMAS/")
    assert (await ledger_entry(stack, case["steps"][0]["id"]))["operation"] == "SKCK_PERPANJANGAN"


async def test_sim_renewal_is_issued_for_five_years_at_the_class_fee(stack: HubStack) -> None:
    case = await finish(stack, sim_renewal(date.today() + timedelta(days=20), licence_class="C"))

    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert (outputs["licence_class"], outputs["fee"]) == ("C", 75_000)
    assert re.fullmatch(r"\d{14}", outputs["sim_number"])
    assert date.fromisoformat(outputs["valid_until"]) == add_months(date.fromisoformat(outputs["issued_on"]), 60)


async def test_a_vehicle_check_clears_the_vehicle_with_samsats_physical_check(stack: HubStack) -> None:
    register = register_kendaraan("BA 2024 LA")
    case = await finish(stack, vehicle_check())

    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert register is not None
    assert outputs["physical_check"] == {"chassis_number": register[0], "engine_number": register[1]}
    assert outputs["stolen_or_blocked"] is False
    assert outputs["plate"] == "BA 2024 LA"
    assert re.fullmatch(r"SKET/RANMOR/\d{5}/[IVX]+/\d{4}/RESKRIM", outputs["clearance_number"])
    assert outputs["registration_number"].startswith("POLRES-BKT/RANMOR/")
    [step] = case["steps"]
    assert (step["agency"], step["service"], step["status"]) == ("polri", "polri.vehicle_check", "COMPLETED")
    assert case_transitions(case) == [*ACCEPTED_THEN, (True, "ACCEPTED", "COMPLETED"), (False, "ACCEPTED", "COMPLETED")]
    assert (await ledger_entry(stack, step["id"]))["operation"] == "CEK_FISIK_KENDARAAN"


# --- refusals ----------------------------------------------------------------------------


async def test_a_stolen_vehicle_and_a_mismatched_engine_number_are_rejected_with_their_reasons(stack: HubStack) -> None:
    ids = [await stack.submit(vehicle_check("BA 1313 LA")), await stack.submit(vehicle_check(engine_number="XYZ1234567"))]
    cases = await stack.wait_terminal(ids, timeout=30)
    stolen, mismatch = (cases[i] for i in ids)

    assert (stolen["status"], stolen["error"]["code"], stolen["error"]["agency_code"]) == (
        "REJECTED",
        "vehicle_blocked",
        "KENDARAAN_DIBLOKIR",
    )
    assert (True, "ACCEPTED", "IN_PROCESS") in case_transitions(stolen), "the stolen-list hit is held for coordination first"
    assert (mismatch["status"], mismatch["error"]["code"]) == ("REJECTED", "physical_check_mismatch")
    assert "nomor mesin" in mismatch["error"]["message"]
    assert stolen["outputs"] == mismatch["outputs"] == {}


async def test_a_record_hit_goes_in_process_then_ends_rejected_with_the_reason(stack: HubStack) -> None:
    case = await finish(stack, skck_new(RECORD_HIT_NIK))

    assert case["status"] == "REJECTED", case
    assert case["error"]["code"] == "police_record_hit"
    assert case["error"]["agency_code"] == "CATATAN_KRIMINAL"
    assert case["outputs"] == {}
    assert case_transitions(case) == [
        *ACCEPTED_THEN,
        (True, "ACCEPTED", "IN_PROCESS"),
        (False, "ACCEPTED", "IN_PROCESS"),
        (True, "IN_PROCESS", "REJECTED"),
        (False, "IN_PROCESS", "REJECTED"),
    ]


async def test_an_expired_sim_is_rejected_as_needing_a_new_licence(stack: HubStack) -> None:
    case = await finish(stack, sim_renewal(date.today() - timedelta(days=3)))

    assert case["status"] == "REJECTED", case
    assert case["error"]["code"] == "licence_expired"
    assert "SIM baru" in case["error"]["message"]


# --- answers that make no sense ---------------------------------------------------------------


async def test_a_garbled_receipt_fails_the_case_and_the_late_verdict_cannot_revive_it(stack: HubStack) -> None:
    await stack.set_knobs("polri", garble_rate=1.0)
    case = await finish(stack, skck_new())

    assert case["status"] == "FAILED", case
    assert case["error"]["code"] == "agency_answer_invalid"
    assert "not JSON" in case["error"]["message"]
    assert "agency_answer_invalid" in case["history"][-2]["note"], "the reason is in the history too"

    # Polri applied the application anyway and calls back; the hub records the late
    # COMPLETED as refused and the case stays FAILED.
    step_id = case["steps"][0]["id"]
    entry = await wait_delivered(stack, step_id)
    assert entry["state"]["percobaan"][-1]["http_status"] == 202
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        after = await stack.case(case["id"])
        if any(h["to_status"] == "COMPLETED" for h in after["history"]):
            break
        await asyncio.sleep(0.1)
    assert after["status"] == "FAILED"
    refused = [h for h in after["history"] if h["to_status"] == "COMPLETED"]
    assert len(refused) == 1 and refused[0]["note"].startswith("refused: illegal transition FAILED -> COMPLETED")

    stack.assert_adapter_alive("polri")
    await stack.set_knobs("polri", garble_rate=0.0)
    assert (await finish(stack, skck_new()))["status"] == "COMPLETED", "the adapter serves the next request"


@pytest.mark.parametrize(
    ("fault", "code"),
    [("garbled", "agency_callback_invalid"), ("schema_invalid", "agency_callback_invalid"), ("unknown_status", "agency_status_unknown")],
)
async def test_a_verdict_that_makes_no_sense_fails_the_case_with_the_reason(stack: HubStack, fault: str, code: str) -> None:
    await stack.set_knobs("polri", verdict_fault=fault)
    case = await finish(stack, skck_new())

    assert case["status"] == "FAILED", case
    assert case["error"]["code"] == code
    if fault == "unknown_status":
        assert "DITANGGUHKAN" in case["error"]["message"]
        assert case["error"]["agency_code"] == "DITANGGUHKAN"
    assert case_transitions(case)[-2:] == [(True, "ACCEPTED", "FAILED"), (False, "ACCEPTED", "FAILED")]

    stack.assert_adapter_alive("polri")
    await stack.set_knobs("polri", verdict_fault=None)
    assert (await finish(stack, skck_new()))["status"] == "COMPLETED", "the adapter serves the next request"


# --- the callback endpoint over the real stack --------------------------------------------------


async def test_a_forged_callback_is_refused_and_the_case_is_unaffected(stack: HubStack) -> None:
    await stack.set_knobs("polri", verdict_delay_ms=3000)
    case_id = await stack.submit(skck_new())
    case = await stack.wait_status(case_id, "ACCEPTED")
    step_id = case["steps"][0]["id"]
    forged = json.dumps(
        {
            "nomor_registrasi": "POLRES-BKT/SKCK/20260101/999999",
            "id_permintaan": step_id,
            "layanan": "SKCK_BARU",
            "status": "TERBIT",
            "waktu": "2026-01-14T09:30:00+07:00",
            "skck": {
                "nomor_skck": "SKCK/PALSU/00000/I/2026/X",
                "tanggal_terbit": "2026-01-14",
                "berlaku_sampai": "2030-01-14",
                "biaya_pnbp": 0,
            },
        }
    ).encode()

    url = f"/v1/callbacks/polri/{step_id}"
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as client:
        wrong_secret = await client.post(
            url, content=forged, headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign("guessed-secret", step_id, forged)}
        )
        unsigned = await client.post(url, content=forged, headers={"Content-Type": "application/json"})
        other_step = await client.post(
            url,
            content=forged,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(DEV_CALLBACK_SECRET, uuid.uuid4(), forged)},
        )

    assert (wrong_secret.status_code, wrong_secret.json()["code"]) == (401, "callback_signature_invalid")
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "callback_signature_missing")
    assert (other_step.status_code, other_step.json()["code"]) == (401, "callback_signature_invalid"), "a signature binds its step"
    assert (await stack.case(case_id))["status"] == "ACCEPTED", "nothing reached the case"

    done = (await stack.wait_terminal([case_id], timeout=30))[case_id]
    assert done["status"] == "COMPLETED"
    assert done["outputs"]["skck_number"].startswith("SKCK/YANMAS/"), "the genuine verdict, not the forged one"
    assert done["outputs"]["fee"] == 30_000


async def test_a_replayed_callback_is_refused_and_the_case_completes_exactly_once(stack: HubStack) -> None:
    await stack.set_knobs("polri", duplicate_callback=True)
    case = await finish(stack, skck_new())
    step_id = case["steps"][0]["id"]

    entry = await wait_delivered(stack, step_id)
    assert [(a["duplikat"], a["http_status"]) for a in entry["state"]["percobaan"]] == [(False, 202), (True, 409)]
    await asyncio.sleep(1.0)  # give a (wrongly) forwarded duplicate time to show up
    after = await stack.case(case["id"])
    assert after["status"] == "COMPLETED"
    assert [h for h in after["history"] if h["to_status"] == "COMPLETED" and h["step_id"]] == [case["history"][-2]]
    assert not any((h["note"] or "").startswith("refused") for h in after["history"])


async def test_callbacks_are_redelivered_while_the_hub_api_is_down(stack: HubStack) -> None:
    await stack.set_knobs("polri", verdict_delay_ms=1500, callback_backoff_ms=300, callback_max_attempts=10)
    case_id = await stack.submit(skck_new())
    case = await stack.wait_status(case_id, "ACCEPTED")
    step_id = case["steps"][0]["id"]

    stack.stop("api")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            attempts = (await ledger_entry(stack, step_id))["state"]["percobaan"]
            if len(attempts) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        stack.start("api")
    await stack.wait_http(stack.api_url + "/healthz")

    done = (await stack.wait_terminal([case_id], timeout=40))[case_id]
    assert done["status"] == "COMPLETED"
    attempts = (await wait_delivered(stack, step_id))["state"]["percobaan"]
    assert attempts[0]["http_status"] is None and attempts[0]["galat"] == "ConnectError"
    assert attempts[-1]["http_status"] == 202
