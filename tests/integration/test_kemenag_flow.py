"""Marriage services at the KUA through the hub: every process separate, real Kafka,
real PostgreSQL, the SIMKAH simulator as Kemenag's backend.

SIMKAH is slow and sometimes down. These tests show that a refusal ends REJECTED
with its reason, a garbled answer ends FAILED with its reason while the adapter keeps
serving, and a maintenance window only delays a case: the worker retries, pauses on
its circuit breaker, and completes the case once SIMKAH is back, applying it once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

from adapters.kemenag.contract import (
    BRIDE_NIK,
    GROOM_NIK,
    duplicate_data,
    registration_data,
    under_age_bride_nik,
    working_day_after,
)
from adapters.kemenag.simulator import KemenagKnobs
from adapters.kemenhaj.contract import registration_data as hajj_registration_data
from support.samples import halal_self_declare_data
from support.stack import COMPLETED_AT_ONCE, QUICK_RECOVERY, HubStack, agency_env, case_transitions, one_agency_stack

#: The hub with SIMKAH only, quick to recover from an outage; every test starts with SIMKAH
#: fast (the default 1.5 s latency is realistic but slow for tests) and healthy.
stack, calm_agency = one_agency_stack("kemenag", agency_env("kemenag", QUICK_RECOVERY), KemenagKnobs(latency_ms=20, jitter_ms=0))


def registration_request(data: dict[str, Any], nik: str = GROOM_NIK, name: str = "Budi Santoso") -> dict[str, Any]:
    return {"service": "kemenag.marriage_registration", "applicant": {"nik": nik, "name": name}, "data": data}


def duplicate_request(data: dict[str, Any]) -> dict[str, Any]:
    return {"service": "kemenag.marriage_book_duplicate", "applicant": {"nik": GROOM_NIK, "name": "Budi Santoso"}, "data": data}


def entries_by_key(ledger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in ledger["entries"]}


async def test_marriage_registrations_and_a_duplicate_complete_with_kua_outputs(stack: HubStack) -> None:
    ceremony = working_day_after(30)
    at_kua, outside, duplicate = await asyncio.gather(
        stack.submit(registration_request(registration_data(ceremony_date=ceremony.isoformat()))),
        stack.submit(
            registration_request(
                registration_data(
                    ceremony_date=ceremony.isoformat(),
                    ceremony_place="outside_kua_or_after_hours",
                    ceremony_time="19:30",
                    ceremony_address="Jl. Sudirman 1, Bukittinggi",
                    kua_code="137503",
                ),
                nik=BRIDE_NIK,
                name="Siti Rahmah",
            ),
        ),
        stack.submit(duplicate_request(duplicate_data())),
    )

    cases = await stack.wait_terminal([at_kua, outside, duplicate], timeout=60)

    free = cases[at_kua]
    assert free["status"] == "COMPLETED", free
    assert free["applicant_nik_masked"] == "1375**********03"
    assert free["outputs"]["registration_number"].startswith("DFT/137501/")
    assert (free["outputs"]["ceremony_date"], free["outputs"]["ceremony_time"]) == (ceremony.isoformat(), "10:00:00")
    assert (free["outputs"]["kua_code"], free["outputs"]["kua_name"]) == ("137501", "KUA Kecamatan Guguak Panjang")
    assert (free["outputs"]["fee"], free["outputs"]["billing_code"]) == (0, None)
    assert free["outputs"]["premarital_counselling_required"] is True
    assert date.fromisoformat(free["outputs"]["premarital_counselling_date"]) <= ceremony

    paid = cases[outside]
    assert paid["status"] == "COMPLETED", paid
    assert paid["outputs"]["fee"] == 600_000
    assert len(paid["outputs"]["billing_code"]) == 15 and paid["outputs"]["billing_code"].startswith("8")
    assert paid["outputs"]["kua_name"] == "KUA Kecamatan Aur Birugo Tigo Baleh"

    book = cases[duplicate]
    assert book["status"] == "COMPLETED", book
    assert book["outputs"]["duplicate_number"].startswith("DUP/137501/")
    assert book["outputs"]["marriage_certificate_number"] == "0123/137501/III/2019"
    assert book["outputs"]["issued_on"]

    for case in cases.values():
        [step] = case["steps"]
        assert (step["agency"], step["status"]) == ("kemenag", "COMPLETED")
        assert case_transitions(case) == COMPLETED_AT_ONCE
    applied = entries_by_key(await stack.ledger("kemenag"))
    for case_id, operation in ((at_kua, "PENDAFTARAN_NIKAH"), (outside, "PENDAFTARAN_NIKAH"), (duplicate, "DUPLIKAT_BUKU_NIKAH")):
        step_id = cases[case_id]["steps"][0]["id"]
        assert applied[step_id]["operation"] == operation, "the step id is SIMKAH's id_transaksi"
        assert applied[step_id]["replays"] == 0


async def test_kua_refusals_end_rejected_with_the_reason(stack: HubStack) -> None:
    ceremony = working_day_after(30)
    under_age = registration_data(
        ceremony_date=ceremony.isoformat(),
        bride={"nik": under_age_bride_nik(ceremony), "name": "Putri Muda", "parental_consent_n5": "N5/07/2026"},
    )
    too_soon = registration_data(ceremony_date=working_day_after(2).isoformat())
    before = (await stack.ledger("kemenag"))["applied"]

    ids = [
        await stack.submit(registration_request(under_age)),
        await stack.submit(registration_request(registration_data(kua_code="999901"))),
        await stack.submit(registration_request(too_soon)),
    ]
    cases = await stack.wait_terminal(ids, timeout=60)

    reasons = [(cases[i]["status"], cases[i]["error"]["code"], cases[i]["error"]["agency_code"]) for i in ids]
    assert reasons == [
        ("REJECTED", "under_age_without_dispensation", "USIA_DI_BAWAH_MINIMUM"),
        ("REJECTED", "unknown_kua", "KUA_TIDAK_DIKENAL"),
        ("REJECTED", "notice_too_short", "PEMBERITAHUAN_KURANG_10_HARI"),
    ]
    assert "19" in cases[ids[0]]["error"]["message"]
    assert cases[ids[0]]["history"][-1]["to_status"] == "REJECTED"
    assert (await stack.ledger("kemenag"))["applied"] == before, "a refusal applies nothing"


async def test_hajj_and_halal_are_not_routed_to_kemenag_any_more(stack: HubStack) -> None:
    hajj = {
        "service": "haji.regular_registration",
        "applicant": {"nik": GROOM_NIK, "name": "Budi Santoso"},
        "data": hajj_registration_data(),
    }
    halal = {
        "service": "halal.certification",
        "applicant": {"nik": GROOM_NIK, "name": "Budi Santoso"},
        "data": halal_self_declare_data(),
    }
    async with stack.client() as client:
        answers = [await client.post("/v1/requests", json=body) for body in (hajj, halal)]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(503, "provider_not_connected")] * 2
    assert "'kemenhaj'" in answers[0].json()["title"]
    assert "'bpjph'" in answers[1].json()["title"]


async def test_a_garbled_answer_fails_the_case_with_the_reason_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    await stack.set_knobs("kemenag", garble_rate=1.0)
    garbled = await stack.submit(duplicate_request(duplicate_data()))

    case = (await stack.wait_terminal([garbled], timeout=60))[garbled]

    assert case["status"] == "FAILED", case
    assert case["error"]["code"] == "agency_answer_invalid"
    assert "not form-encoded" in case["error"]["message"]
    assert any("agency_answer_invalid" in (h["note"] or "") for h in case["history"] if h["to_status"] == "FAILED")
    adapter = stack.processes["adapter:kemenag"]
    assert adapter.poll() is None, "the adapter process must survive a garbled answer"

    await stack.set_knobs("kemenag", garble_rate=0.0)
    following = await stack.submit(duplicate_request(duplicate_data(reason="damaged", police_report_number=None)))
    assert (await stack.wait_terminal([following], timeout=60))[following]["status"] == "COMPLETED"
    assert adapter.poll() is None


async def test_a_maintenance_window_delays_the_case_and_it_completes_once_simkah_is_back(stack: HubStack) -> None:
    await stack.set_knobs("kemenag", down=True)
    case_id = await stack.submit(registration_request(registration_data()))

    deadline = time.monotonic() + 30
    while (await stack.case(case_id))["status"] != "ROUTED":
        assert time.monotonic() < deadline, "the case was never routed"
        await asyncio.sleep(0.1)
    # SIMKAH is down: the worker retries and pauses; the case waits, it does not fail.
    for _ in range(12):
        await asyncio.sleep(0.25)
        case = await stack.case(case_id)
        assert case["status"] == "ROUTED", case
        assert case["steps"][0]["status"] == "ROUTED"
    step_id = case["steps"][0]["id"]
    assert step_id not in entries_by_key(await stack.ledger("kemenag"))

    await stack.set_knobs("kemenag", down=False)
    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    assert case["status"] == "COMPLETED", case
    assert case["outputs"]["kua_code"] == "137501"
    assert [h["to_status"] for h in case["history"] if h["step_id"] is None] == ["SUBMITTED", "ROUTED", "COMPLETED"]
    entry = entries_by_key(await stack.ledger("kemenag"))[step_id]
    assert entry["replays"] == 0, "applied exactly once, never replayed"
    assert stack.processes["adapter:kemenag"].poll() is None
