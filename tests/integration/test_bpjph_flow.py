"""A small food business asks for halal certification through the hub: every process
separate, real Kafka, real PostgreSQL, the SIHALAL simulator as BPJPH. BPJPH is a
polling backend, so the case advances only as the router's poller asks the adapter,
and the adapter asks SIHALAL, where the application is.

One hub serves the whole module; each test resets the simulator's knobs. The poll
interval is short (``POLL_INTERVAL``) and the simulator moves one stage per poll.
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.bpjph.contract import NIK, certification_data
from adapters.bpjph.simulator import DEV_API_KEY, BpjphKnobs
from support.scenarios import accepted_then_under
from support.stack import HubStack, agency_env, one_agency_stack, step_transitions

AGENCY = "bpjph"
POLL_INTERVAL = "0.3"


def halal_request(**changes: Any) -> dict[str, Any]:
    """The portal's request for the contract's sample application (override to vary)."""
    return {"service": "halal.certification", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": certification_data(**changes)}


# HubStack starts the simulator with its dev API key; the adapter must send the same.
ENV = agency_env(AGENCY, {"api_key": DEV_API_KEY, "poll_interval_seconds": POLL_INTERVAL})
#: Every test starts with a well-behaved SIHALAL that advances one stage per poll.
stack, calm_agency = one_agency_stack(AGENCY, ENV, BpjphKnobs(polls_per_stage=1))


async def ledger_entry(stack: HubStack, key: str) -> dict[str, Any]:
    entries = [e for e in (await stack.ledger(AGENCY))["entries"] if e["key"] == key]
    assert len(entries) == 1, f"step {key} applied {len(entries)} times"
    return dict(entries[0])


# --- happy paths ------------------------------------------------------------------------


async def test_a_micro_business_gets_a_free_self_declare_certificate(stack: HubStack) -> None:
    case = await stack.submit_and_wait(halal_request(), timeout=60)

    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert outputs["certificate_number"].startswith("ID13") and len(outputs["certificate_number"]) == 19
    assert (outputs["route"], outputs["fee"], outputs["billing_code"]) == ("self_declare", 0, None)
    assert outputs["registration_number"].startswith("SH") and "-1-" in outputs["registration_number"]
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "IN_PROCESS", "COMPLETED"]
    [step] = case["steps"]
    assert (step["agency"], step["service"]) == (AGENCY, "halal.certification")
    entry = await ledger_entry(stack, step["id"])  # the step id is SIHALAL's Idempotency-Key
    assert entry["state"]["tahap"] == "TERBIT"
    assert entry["state"]["total_cek"] == 4, "one poll per stage: none lost, none doubled"


async def test_a_regular_application_waits_for_payment_then_is_certified(stack: HubStack) -> None:
    case_id = await stack.submit(halal_request(route="regular", business_scale="medium"))

    awaiting = await stack.wait_status(case_id, "AWAITING_PAYMENT")
    case = await stack.finished(case_id, timeout=60)

    billing = awaiting["outputs"]
    assert billing["billing_code"].startswith("8") and len(billing["billing_code"]) == 15
    assert (billing["amount"], billing["fee"]) == (2_500_000, 2_500_000)
    assert case["status"] == "COMPLETED", case
    assert (case["outputs"]["route"], case["outputs"]["fee"], case["outputs"]["billing_code"]) == (
        "regular",
        2_500_000,
        billing["billing_code"],
    )
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "IN_PROCESS", "AWAITING_PAYMENT", "IN_PROCESS", "COMPLETED"]


# --- refusals and other endings -------------------------------------------------------------


async def test_refusals_end_rejected_with_the_reason(stack: HubStack) -> None:
    before = (await stack.ledger(AGENCY))["applied"]
    taxpayer = await stack.submit(halal_request(taxpayer_status="TIDAK_VALID"))
    haram = await stack.submit(halal_request(products=[{"name": "Sate", "ingredients": ["daging babi", "kecap"]}]))

    cases = await stack.wait_terminal([taxpayer, haram], timeout=60)

    at_submission = cases[taxpayer]
    assert at_submission["status"] == "REJECTED"
    assert (at_submission["error"]["code"], at_submission["error"]["agency_code"]) == ("taxpayer_status_invalid", "STATUS_WP_TIDAK_VALID")
    assert "KSWP" in at_submission["error"]["message"]
    assert step_transitions(at_submission) == ["ROUTED", "REJECTED"]
    by_fatwa = cases[haram]
    assert (by_fatwa["status"], by_fatwa["error"]["code"]) == ("REJECTED", "ingredient_not_halal")
    assert "daging babi" in by_fatwa["error"]["message"]
    assert step_transitions(by_fatwa) == ["ROUTED", "ACCEPTED", "IN_PROCESS", "REJECTED"]
    assert (await stack.ledger(AGENCY))["applied"] == before + 1, "the refusal at submission applied nothing"


async def test_an_unpaid_fee_ends_the_case_expired(stack: HubStack) -> None:
    await stack.set_knobs(AGENCY, unpaid=True)
    case = await stack.submit_and_wait(halal_request(route="regular", business_scale="small"), timeout=60)

    assert case["status"] == "EXPIRED", case
    assert (case["error"]["code"], case["error"]["agency_code"]) == ("billing_expired", "BILLING_KEDALUWARSA")
    assert step_transitions(case)[-2:] == ["AWAITING_PAYMENT", "EXPIRED"]


async def test_returned_documents_need_revision_and_a_revised_step_is_certified(stack: HubStack) -> None:
    body = halal_request(products=[{"name": "Keripik balado", "ingredients": ["singkong", "cabai", "perisa ayam"]}])
    case_id = await stack.submit(body)

    case = await stack.wait_status(case_id, "NEEDS_REVISION")

    assert case["error"]["code"] == "documents_returned"
    assert case["error"]["message"].startswith("correct products.0.ingredients.2: ")
    [returned] = case["steps"]
    polls = (await ledger_entry(stack, returned["id"]))["state"]["total_cek"]
    await asyncio.sleep(1.5)  # five poll intervals: the hub stopped polling a returned application
    assert (await ledger_entry(stack, returned["id"]))["state"]["total_cek"] == polls

    fixed = {
        **body["data"],
        "products": [{"name": "Keripik balado", "ingredients": ["singkong", "cabai", "perisa ayam (ID13110000123450124)"]}],
    }
    async with stack.client() as client:
        revised = await client.post(f"/v1/requests/{case_id}/steps/{returned['id']}/revision", json={"data": fixed})
    assert revised.status_code == 202, revised.text

    done = await stack.finished(case_id, timeout=60)
    assert done["status"] == "COMPLETED", done
    assert done["outputs"]["certificate_number"].startswith("ID13")


# --- answers that make no sense ----------------------------------------------------------------


async def test_garbled_and_unknown_status_answers_end_failed_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    bad_body = await accepted_then_under(stack, AGENCY, halal_request(), on={"garble_rate": 1.0}, off={"garble_rate": 0.0})
    new_status = await accepted_then_under(
        stack, AGENCY, halal_request(), on={"forced_status": "DITANGGUHKAN"}, off={"forced_status": None}
    )

    assert bad_body["status"] == "FAILED"
    assert bad_body["error"]["code"] == "agency_answer_invalid"
    assert "BPJPH status" in bad_body["error"]["message"]
    assert new_status["status"] == "FAILED"
    assert (new_status["error"]["code"], new_status["error"]["agency_code"]) == ("agency_status_unknown", "DITANGGUHKAN")
    assert any("agency_status_unknown" in (h["note"] or "") for h in new_status["history"]), "the reason is in the history too"

    assert stack.processes[f"adapter:{AGENCY}"].poll() is None, "the adapter survived every bad answer"
    following = await stack.submit(halal_request())
    assert (await stack.finished(following, timeout=60))["status"] == "COMPLETED"
