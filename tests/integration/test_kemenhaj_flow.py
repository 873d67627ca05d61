"""A citizen registers for the regular hajj through the hub: every process separate,
real Kafka, real PostgreSQL, the Siskohat simulator as Kemenhaj. Kemenhaj is the
hub's batch backend: the adapter puts each step as one record into Siskohat's open
batch, and the result only exists once the batch closes, in the batch's result file,
which the adapter reads when the router's poller asks.

One hub serves the whole module; each test resets the simulator's knobs. Batches
close every ``BATCH_SECONDS``; the adapter reads a file ``RESULT_MARGIN`` after
the cut-off.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

from adapters.kemenhaj.contract import registration_data
from adapters.kemenhaj.simulator import DEV_API_KEY, KemenhajKnobs
from support.stack import QUICK_RECOVERY, HubStack, agency_env, one_agency_stack, step_transitions

AGENCY = "kemenhaj"
BATCH_SECONDS = 1.0
RESULT_MARGIN = "0.2"
OFFICE = "1375"  # Kota Bukittinggi, Sumatera Barat: 24 years of waiting [S:HAJI-TUNGGU]


def registration_request(nik: str, name: str = "Budi Santoso", **changes: Any) -> dict[str, Any]:
    data = registration_data(registration_office=OFFICE, **changes)
    return {"service": "haji.regular_registration", "applicant": {"nik": nik, "name": name}, "data": data}


stack, calm_agency = one_agency_stack(
    AGENCY,
    agency_env(AGENCY, {"api_key": DEV_API_KEY, "result_margin_seconds": RESULT_MARGIN, "poll_interval_seconds": "0.3", **QUICK_RECOVERY}),
    KemenhajKnobs(batch_interval_seconds=BATCH_SECONDS),
)


async def ledger_entry(stack: HubStack, key: str) -> dict[str, Any]:
    entries = [e for e in (await stack.ledger(AGENCY))["entries"] if e["key"] == key]
    assert len(entries) == 1, f"step {key} put {len(entries)} records"
    return dict(entries[0])


async def test_a_registration_completes_with_a_portion_number_once_its_batch_closes(stack: HubStack) -> None:
    case_id = await stack.submit(registration_request("1375011203800003"))

    case = (await stack.wait_terminal([case_id], timeout=60))[case_id]

    [step] = case["steps"]
    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert len(outputs["portion_number"]) == 10 and outputs["portion_number"].startswith("13")
    assert outputs["estimated_departure_year"] == date.today().year + 24
    assert outputs["deposit_validation_number"] == "BSI-2026-000123"
    assert outputs["spph_number"].startswith(f"SPPH/{OFFICE}/")
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "COMPLETED"]
    entry = await ledger_entry(stack, step["id"])  # the step id is the record id
    assert entry["state"]["id_batch"].startswith("SKH")
    assert entry["state"]["hasil"]["status"] == "TERDAFTAR"
    assert "1375011203800003" not in str(entry), "the ledger keeps no NIK in the clear"


async def test_under_age_and_already_registered_are_rejected_with_the_reason(stack: HubStack) -> None:
    first = await stack.submit(registration_request("1375012508900001", name="Rahmat"))
    await stack.wait_terminal([first], timeout=60)
    again = await stack.submit(registration_request("1375012508900001", name="Rahmat"))
    child = await stack.submit(registration_request("1375015506160002", name="Aisyah"))

    cases = await stack.wait_terminal([again, child], timeout=60)

    assert (cases[again]["status"], cases[again]["error"]["code"], cases[again]["error"]["agency_code"]) == (
        "REJECTED", "already_registered", "SUDAH_TERDAFTAR",
    )  # fmt: skip
    assert (cases[child]["status"], cases[child]["error"]["code"], cases[child]["error"]["agency_code"]) == (
        "REJECTED", "under_minimum_age", "USIA_BELUM_12_TAHUN",
    )  # fmt: skip
    assert "12" in cases[child]["error"]["message"]
    assert step_transitions(cases[child]) == ["ROUTED", "ACCEPTED", "REJECTED"], "refused when its batch was processed"


async def test_an_outage_of_siskohat_is_waited_out_and_the_record_is_put_once(stack: HubStack) -> None:
    before = (await stack.ledger(AGENCY))["applied"]
    await stack.set_knobs(AGENCY, down=True)
    case_id = await stack.submit(registration_request("1375016104750002", name="Nurhayati"))

    deadline = time.monotonic() + 30
    while (await stack.case(case_id))["status"] != "ROUTED":
        assert time.monotonic() < deadline, "the case was never routed"
        await asyncio.sleep(0.1)
    for _ in range(8):  # Siskohat is down: the worker retries and pauses; the case waits, it does not fail
        await asyncio.sleep(0.25)
        assert (await stack.case(case_id))["status"] == "ROUTED"
    await stack.set_knobs(AGENCY, down=False, drop_reply_after_apply=1.0)  # back, but the first receipt is lost
    await asyncio.sleep(1.0)
    await stack.set_knobs(AGENCY, drop_reply_after_apply=0.0)

    case = (await stack.wait_terminal([case_id], timeout=90))[case_id]

    assert case["status"] == "COMPLETED", case
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "COMPLETED"]
    assert (await stack.ledger(AGENCY))["applied"] - before == 1, "one record, however many tries"
    await ledger_entry(stack, case["steps"][0]["id"])
