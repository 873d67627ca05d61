"""The JKN membership check end to end: portal API -> outbox -> Kafka -> router -> BPJS
Kesehatan adapter (separate OS process) -> the signed metaData-envelope simulator, and
back, on a real broker and PostgreSQL.

One stack serves the whole module; every test starts from calm knobs.
"""

from __future__ import annotations

from typing import Any

from adapters.bpjs_kesehatan.simulator import DEV_CONS_ID, DEV_SECRET, BpjsKnobs
from support.scenarios import lost_reply_retried, outage_waited_out
from support.stack import QUICK_RECOVERY, HubStack, agency_env, one_agency_stack, step_transitions

AGENCY = "bpjs_kesehatan"
NIK_AKTIF = "1375015203900007"
NIK_MENUNGGAK = "1375022708850081"
NIK_TIDAK_TERDAFTAR = "1375010101900100"


def jkn_check(nik: str = NIK_AKTIF, purpose: str = "SKCK") -> dict[str, Any]:
    return {"service": "bpjs.jkn_status", "applicant": {"nik": nik, "name": "Siti Rahmah"}, "data": {"purpose": purpose}}


# The simulator takes its consumer from the same settings the adapter signs with.
ENV = agency_env(AGENCY, {"cons_id": DEV_CONS_ID, "secret": DEV_SECRET, **QUICK_RECOVERY})
stack, calm_agency = one_agency_stack(AGENCY, ENV, BpjsKnobs())


async def test_active_and_inactive_members_both_complete_with_their_status(stack: HubStack) -> None:
    before = (await stack.ledger(AGENCY))["applied"]
    active = await stack.submit(jkn_check())
    inactive = await stack.submit(jkn_check(NIK_MENUNGGAK, "SIM C baru"))

    cases = await stack.wait_terminal([active, inactive], timeout=60)

    done = cases[active]
    assert done["status"] == "COMPLETED", done
    assert done["outputs"]["membership_status"] == "AKTIF" and done["outputs"]["inactive_reason"] is None
    assert done["outputs"]["card_number_masked"].startswith("*********")
    assert done["outputs"]["check_number"].startswith("JKN")
    assert step_transitions(done) == ["ROUTED", "COMPLETED"]
    [step] = done["steps"]
    assert (step["agency"], step["service"]) == (AGENCY, "bpjs.jkn_status")
    arrears = cases[inactive]
    assert arrears["status"] == "COMPLETED", "an inactive membership is an answer; the composite decides"
    assert (arrears["outputs"]["membership_status"], arrears["outputs"]["inactive_reason"]) == ("TIDAK_AKTIF", "contributions_in_arrears")
    assert (await stack.ledger(AGENCY))["applied"] == before + 2, "each check recorded once"


async def test_a_nik_not_in_the_jkn_register_is_rejected_with_a_clear_code(stack: HubStack) -> None:
    case = await stack.submit_and_wait(jkn_check(NIK_TIDAK_TERDAFTAR), timeout=60)

    assert case["status"] == "REJECTED", case
    assert (case["error"]["code"], case["error"]["agency_code"]) == ("jkn_not_registered", "201")
    assert "tidak ditemukan" in case["error"]["message"]
    assert step_transitions(case) == ["ROUTED", "REJECTED"]


async def test_a_bpjs_outage_is_waited_out_and_the_check_completes(stack: HubStack) -> None:
    case = await outage_waited_out(stack, AGENCY, jkn_check())

    assert case["status"] == "COMPLETED", stack.logs()
    assert case["outputs"]["membership_status"] == "AKTIF"


async def test_a_lost_reply_is_retried_and_the_check_is_recorded_once(stack: HubStack) -> None:
    before = (await stack.ledger(AGENCY))["applied"]

    case = await lost_reply_retried(stack, AGENCY, jkn_check())

    assert case["status"] == "COMPLETED", stack.logs()
    assert (await stack.ledger(AGENCY))["applied"] == before + 1, "the retry replayed the recorded check"
