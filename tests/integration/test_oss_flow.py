"""A business owner asks the DPMPTSP counter for a NIB through the hub: every process
separate, real Kafka, real PostgreSQL, the OSS-RBA simulator as OSS. OSS answers a
registration at once, so a case ends in one step report; the KBLI's risk level decides
whether the NIB is the licence itself or comes with what is still required.
"""

from __future__ import annotations

from typing import Any

from adapters.oss import DEV_CREDENTIALS
from adapters.oss.contract import NIK, registration_data
from adapters.oss.simulator import OssKnobs
from support.scenarios import lost_reply_retried, outage_waited_out
from support.stack import QUICK_RECOVERY, HubStack, agency_env, one_agency_stack, step_transitions

AGENCY = "oss"


def nib_request(**changes: Any) -> dict[str, Any]:
    """The portal's request for the contract's sample business (override to vary)."""
    return {"service": "oss.nib_registration", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": registration_data(**changes)}


def env() -> dict[str, str]:
    """The credentials the simulator starts with (HubStack passes the dev ones), and quick recovery from an outage."""
    return agency_env(AGENCY, {**DEV_CREDENTIALS, **QUICK_RECOVERY})


stack, calm_agency = one_agency_stack(AGENCY, env(), OssKnobs())


async def applied(stack: HubStack) -> int:
    return int((await stack.ledger(AGENCY))["applied"])


async def test_a_low_risk_micro_business_gets_the_nib_as_its_licence(stack: HubStack) -> None:
    case = await stack.submit_and_wait(nib_request(), timeout=60)

    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert len(outputs["nib"]) == 13 and outputs["nib"].isdigit()
    assert (outputs["kbli"], outputs["risk_level"], outputs["licence_complete"], outputs["further_licence"]) == ("56103", "low", True, None)
    assert step_transitions(case) == ["ROUTED", "COMPLETED"]
    [step] = case["steps"]
    assert (step["agency"], step["service"], step["outputs"]["nib"]) == (AGENCY, "oss.nib_registration", outputs["nib"])


async def test_a_higher_risk_business_gets_the_nib_with_what_is_still_required(stack: HubStack) -> None:
    case = await stack.submit_and_wait(
        nib_request(kbli="55110", business_scale="small", capital=2_000_000_000, business_name="Hotel Jam Gadang"), timeout=60
    )

    assert case["status"] == "COMPLETED", case
    outputs = case["outputs"]
    assert (outputs["risk_level"], outputs["licence_complete"], outputs["further_licence"]) == (
        "medium_high",
        False,
        "verified_standard_certificate",
    )
    assert "Sertifikat Standar" in outputs["note"] and "diverifikasi" in outputs["note"]


async def test_an_unknown_kbli_is_rejected_with_the_reason_and_nothing_registered(stack: HubStack) -> None:
    before = await applied(stack)
    case = await stack.submit_and_wait(nib_request(kbli="99999"), timeout=60)

    assert case["status"] == "REJECTED", case
    assert (case["error"]["code"], case["error"]["agency_code"]) == ("kbli_not_found", "KBLI_TIDAK_DITEMUKAN")
    assert "99999" in case["error"]["message"]
    assert step_transitions(case) == ["ROUTED", "REJECTED"]
    assert await applied(stack) == before


async def test_an_oss_outage_is_waited_out_and_the_nib_is_registered_once(stack: HubStack) -> None:
    before = await applied(stack)

    case = await outage_waited_out(stack, AGENCY, nib_request())

    assert case["status"] == "COMPLETED", stack.logs()
    assert case["outputs"]["risk_level"] == "low"
    assert await applied(stack) == before + 1


async def test_a_lost_reply_is_retried_without_a_second_nib(stack: HubStack) -> None:
    before = await applied(stack)

    case = await lost_reply_retried(stack, AGENCY, nib_request())

    assert case["status"] == "COMPLETED", stack.logs()
    assert await applied(stack) == before + 1, "the retry got the stored NIB"


async def test_an_unknown_risk_level_fails_with_the_reason_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    await stack.set_knobs(AGENCY, forced_risk="ST")
    case = await stack.submit_and_wait(nib_request(), timeout=60)
    await stack.set_knobs(AGENCY, forced_risk=None)

    assert case["status"] == "FAILED"
    assert (case["error"]["code"], case["error"]["agency_code"]) == ("agency_status_unknown", "ST")
    following = await stack.submit(nib_request())
    assert (await stack.finished(following, timeout=60))["status"] == "COMPLETED"
