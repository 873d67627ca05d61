"""A citizen applies for a passport through the hub: every process separate, real
Kafka, real PostgreSQL, the Imigrasi SOAP simulator as the agency. Imigrasi is a
polling backend, so the case advances only as the router's poller asks the adapter,
and the adapter asks Imigrasi, where the application is.

One hub serves the whole module (starting one costs seconds); each test resets the
simulator's knobs. The poll interval is short (``POLL_INTERVAL``), and most tests run
one poll per stage to stay quick.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import Any

import pytest

from messaging import KafkaSettings, create_producer, envelope_headers
from schemas import topics
from schemas.envelope import Envelope, MessageType, new_traceparent
from schemas.messages import Applicant, StepCancel, StepCommand
from support.stack import HubStack, step_transitions

AGENCY = "imigrasi"
POLL_INTERVAL = "0.3"
NIK = "1375015203900007"
NIK_CEKAL = "1375010101900099"  # ends in 99: on the simulated prevention list
NIK_AKTA_TIDAK_SESUAI = "1375015203900098"  # ends in 98: the birth certificate does not match the NIK's data
STAGES = ["ROUTED", "ACCEPTED", "AWAITING_PAYMENT", "IN_PROCESS", "READY_FOR_PICKUP", "COMPLETED"]


def passport_request(service: str = "imigrasi.passport_new", *, nik: str = NIK, name: str = "Siti Rahmah", **data: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "passport_type": "electronic",
        "validity_years": 10,
        "appointment_date": (date.today() + timedelta(days=3)).isoformat(),
        "supporting_document": "birth_certificate",
    }
    return {"service": service, "applicant": {"nik": nik, "name": name}, "data": {**base, **data}}


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    async with hub_stack(
        agencies=(AGENCY,),
        extra_env={"MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS": POLL_INTERVAL},
    ) as hub:
        yield hub


@pytest.fixture(autouse=True)
async def calm_agency(stack: HubStack) -> None:
    """Every test starts with a well-behaved Imigrasi that advances one stage per poll."""
    await stack.set_knobs(
        AGENCY, polls_per_stage=1, unpaid=False, uncollected=False, return_documents=False, forced_status=None,
        garble_rate=0.0, error_rate=0.0, down=False, drop_reply_after_apply=0.0, latency_ms=0, daily_quota=None,
    )  # fmt: skip


def case_transitions(case: dict[str, Any]) -> list[str]:
    return [h["to_status"] for h in case["history"] if h["step_id"] is None]


async def ledger_entry(stack: HubStack, key: str) -> dict[str, Any]:
    entries = [e for e in (await stack.ledger(AGENCY))["entries"] if e["key"] == key]
    assert len(entries) == 1, f"step {key} applied {len(entries)} times"
    return dict(entries[0])


# --- happy paths ------------------------------------------------------------------


async def test_a_new_passport_goes_through_every_stage_once_and_completes(stack: HubStack) -> None:
    await stack.set_knobs(AGENCY, polls_per_stage=2)  # each stage answered twice: the same status only reschedules
    case_id = await stack.submit(passport_request())

    awaiting = await stack.wait_status(case_id, "AWAITING_PAYMENT")
    case = await stack.finished(case_id, timeout=60)

    billing = awaiting["outputs"]
    assert billing["billing_code"].startswith("8") and len(billing["billing_code"]) == 15
    assert billing["amount"] == 950_000, "e-passport, 10 years (PP 45/2024)"
    assert date.fromisoformat(billing["pay_before"]) == date.fromisoformat(billing["appointment_date"]) + timedelta(days=7)

    assert case["status"] == "COMPLETED", case
    assert case["applicant_nik_masked"] == "1375**********07"
    outputs = case["outputs"]
    assert outputs["passport_number"].startswith("E") and len(outputs["passport_number"]) == 8
    assert (outputs["passport_type"], outputs["validity_years"], outputs["amount_paid"]) == ("electronic", 10, 950_000)
    assert outputs["billing_code"] == billing["billing_code"]
    issued, expires = date.fromisoformat(outputs["issued_on"]), date.fromisoformat(outputs["expires_on"])
    assert expires == issued.replace(year=issued.year + 10)

    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "AWAITING_PAYMENT", "IN_PROCESS", "READY_FOR_PICKUP", "COMPLETED"]
    assert case_transitions(case) == ["SUBMITTED", *STAGES]
    [step] = case["steps"]
    assert (step["agency"], step["status"]) == (AGENCY, "COMPLETED")
    entry = await ledger_entry(stack, step["id"])  # the step id is Imigrasi's IdTransaksi
    assert entry["state"]["tahap"] == "SELESAI"
    assert entry["state"]["total_cek"] == 8, "4 stages x 2 polls: no poll lost, none doubled"


async def test_a_passport_replacement_completes_naming_the_old_passport(stack: HubStack) -> None:
    body = passport_request(
        "imigrasi.passport_renewal", passport_type="non_electronic", validity_years=5,
        supporting_document="marriage_book", old_passport_number="x 7654321",
    )  # fmt: skip
    case = await stack.submit_and_wait(body, timeout=60)

    assert case["status"] == "COMPLETED", case
    assert case["outputs"]["replaced_passport_number"] == "X7654321"
    assert case["outputs"]["passport_number"].startswith("X")
    assert case["outputs"]["amount_paid"] == 350_000, "non-electronic, 5 years (PP 45/2024)"
    assert step_transitions(case) == STAGES


# --- endings without a passport -------------------------------------------------------


async def test_an_unpaid_billing_ends_the_case_expired_with_the_reason(stack: HubStack) -> None:
    await stack.set_knobs(AGENCY, unpaid=True)
    case = await stack.submit_and_wait(passport_request(), timeout=60)

    assert case["status"] == "EXPIRED", case
    assert (case["error"]["code"], case["error"]["agency_code"]) == ("billing_expired", "BILLING_KEDALUWARSA")
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "AWAITING_PAYMENT", "EXPIRED"]


async def test_agency_refusals_end_the_case_rejected_with_the_reason(stack: HubStack) -> None:
    on_list = await stack.submit(passport_request(nik=NIK_CEKAL))
    unknown_old = await stack.submit(passport_request("imigrasi.passport_renewal", old_passport_number="X0123456"))

    cases = await stack.wait_terminal([on_list, unknown_old], timeout=60)

    refused_after_interview = cases[on_list]
    assert refused_after_interview["status"] == "REJECTED"
    assert (refused_after_interview["error"]["code"], refused_after_interview["error"]["agency_code"]) == ("travel_ban", "CEKAL")
    assert step_transitions(refused_after_interview) == ["ROUTED", "ACCEPTED", "REJECTED"]
    refused_at_submission = cases[unknown_old]
    assert refused_at_submission["status"] == "REJECTED"
    assert refused_at_submission["error"]["code"] == "old_passport_not_found"
    assert "X0123456" in refused_at_submission["error"]["message"]
    assert step_transitions(refused_at_submission) == ["ROUTED", "REJECTED"]


# --- documents returned: NEEDS_REVISION --------------------------------------------------


async def test_returned_documents_put_the_case_in_needs_revision_naming_what_to_correct(stack: HubStack) -> None:
    body = passport_request(nik=NIK_AKTA_TIDAK_SESUAI)
    case_id = await stack.submit(body)

    case = await stack.wait_status(case_id, "NEEDS_REVISION")

    assert (case["error"]["code"], case["error"]["agency_code"]) == ("documents_inconsistent", "DOKUMEN_TIDAK_SESUAI")
    assert case["error"]["message"].startswith("correct supporting_document (birth_certificate): ")
    assert "AKTA_KELAHIRAN" in case["error"]["message"]
    assert step_transitions(case) == ["ROUTED", "ACCEPTED", "NEEDS_REVISION"]
    [returned] = case["steps"]
    assert (await ledger_entry(stack, returned["id"]))["state"]["tahap"] == "BERKAS_DIKEMBALIKAN"

    # The application waits for the applicant: the hub stops polling it.
    polls = (await ledger_entry(stack, returned["id"]))["state"]["total_cek"]
    await asyncio.sleep(1.5)  # five poll intervals
    assert (await ledger_entry(stack, returned["id"]))["state"]["total_cek"] == polls
    assert (await stack.case(case_id))["status"] == "NEEDS_REVISION"

    # The citizen brings the marriage book instead: the hub resubmits the step as a new
    # step (new step id = new IdTransaksi), a new application that goes through.
    async with stack.client() as client:
        revised = await client.post(
            f"/v1/requests/{case_id}/steps/{returned['id']}/revision",
            json={"data": {**body["data"], "supporting_document": "marriage_book"}},
        )
    assert revised.status_code == 202, revised.text
    done = await stack.finished(case_id, timeout=60)
    assert done["status"] == "COMPLETED", done
    new_step = next(s for s in done["steps"] if s["id"] != returned["id"])
    assert (await ledger_entry(stack, new_step["id"]))["state"]["tahap"] == "SELESAI"
    assert (await ledger_entry(stack, returned["id"]))["state"]["tahap"] == "BERKAS_DIKEMBALIKAN"


# --- cancel over the bus ---------------------------------------------------------------------


async def send_cancel(stack: HubStack, case: dict[str, Any], body: dict[str, Any]) -> None:
    """What the hub sends when a citizen cancels: a step.cancel on Imigrasi's command topic."""
    [step] = case["steps"]
    command = StepCommand(
        service=body["service"], operation=body["service"].split(".", 1)[1], applicant=Applicant(**body["applicant"]), data=body["data"]
    )
    envelope = Envelope(
        request_id=uuid.UUID(case["id"]),
        step_id=uuid.UUID(step["id"]),
        type=MessageType.STEP_CANCEL,
        source="test:cancel",
        payload=StepCancel(command=command, agency_ref=case["outputs"]["application_number"], reason="Pemohon membatalkan").model_dump(
            mode="json"
        ),
    )
    producer = create_producer(KafkaSettings(bootstrap=stack.kafka_bootstrap))
    await producer.start()
    try:
        headers = envelope_headers(envelope, correlation_id=case["id"], traceparent=new_traceparent())
        await producer.send_and_wait(topics.commands(AGENCY), value=envelope.to_bytes(), key=envelope.key, headers=headers)
    finally:
        await producer.stop()


async def test_a_cancel_before_payment_cancels_the_application_and_the_case(stack: HubStack) -> None:
    await stack.set_knobs(AGENCY, polls_per_stage=1000)  # stays DITERIMA: waiting for the interview
    body = passport_request()
    case_id = await stack.submit(body)
    case = await stack.wait_status(case_id, "ACCEPTED")

    await send_cancel(stack, case, body)

    done = await stack.finished(case_id, timeout=30)
    assert done["status"] == "CANCELLED", done
    assert step_transitions(done) == ["ROUTED", "ACCEPTED", "CANCELLED"]
    assert (await ledger_entry(stack, case["steps"][0]["id"]))["state"]["tahap"] == "DIBATALKAN"


async def test_a_cancel_after_payment_is_refused_by_imigrasi_and_the_case_goes_on(stack: HubStack) -> None:
    body = passport_request()
    case_id = await stack.submit(body)
    await stack.wait_status(case_id, "IN_PROCESS")
    await stack.set_knobs(AGENCY, polls_per_stage=1000)  # hold it at DIPROSES (paid) while we cancel
    case = await stack.case(case_id)
    assert case["status"] == "IN_PROCESS"

    await send_cancel(stack, case, body)
    await asyncio.sleep(1.0)
    assert (await stack.case(case_id))["status"] == "IN_PROCESS", "paid: not cancelled"
    await stack.set_knobs(AGENCY, polls_per_stage=1)

    done = await stack.finished(case_id, timeout=60)
    assert done["status"] == "COMPLETED", done
    assert "CANCELLED" not in step_transitions(done)
    assert stack.processes[f"adapter:{AGENCY}"].poll() is None


# --- answers that make no sense ---------------------------------------------------------


async def test_soap_fault_garbled_xml_and_unknown_status_end_failed_and_the_adapter_keeps_serving(stack: HubStack) -> None:
    # A soap:Client fault: Imigrasi's schema cannot print digits in a passport name.
    refused = await stack.submit(passport_request(name="Warga Uji 2"))
    # Garbled XML while polling.
    garbled = await stack.submit(passport_request())
    await stack.wait_status(garbled, "ACCEPTED")
    await stack.set_knobs(AGENCY, garble_rate=1.0)
    cases = await stack.wait_terminal([refused, garbled], timeout=60)
    await stack.set_knobs(AGENCY, garble_rate=0.0)
    # A status word the adapter has never seen.
    unknown = await stack.submit(passport_request())
    await stack.wait_status(unknown, "ACCEPTED")
    await stack.set_knobs(AGENCY, forced_status="DITANGGUHKAN")
    cases |= await stack.wait_terminal([unknown], timeout=60)
    await stack.set_knobs(AGENCY, forced_status=None)

    fault = cases[refused]
    assert fault["status"] == "FAILED"
    assert (fault["error"]["code"], fault["error"]["agency_code"]) == ("agency_refused_request", "PERMINTAAN_TIDAK_VALID")
    assert "NamaLengkap" in fault["error"]["message"]
    bad_xml = cases[garbled]
    assert bad_xml["status"] == "FAILED"
    assert bad_xml["error"]["code"] == "agency_answer_invalid"
    assert "not a SOAP message" in bad_xml["error"]["message"]
    new_status = cases[unknown]
    assert new_status["status"] == "FAILED"
    assert (new_status["error"]["code"], new_status["error"]["agency_code"]) == ("agency_status_unknown", "DITANGGUHKAN")

    assert stack.processes[f"adapter:{AGENCY}"].poll() is None, "the adapter survived every bad answer"
    following = await stack.submit(passport_request())
    assert (await stack.finished(following, timeout=60))["status"] == "COMPLETED"


# --- the poller survives a crash ------------------------------------------------------------


async def test_killing_the_router_mid_polling_still_completes_the_case(stack: HubStack) -> None:
    await stack.set_knobs(AGENCY, polls_per_stage=2)
    case_id = await stack.submit(passport_request())
    await stack.wait_status(case_id, "AWAITING_PAYMENT")

    stack.kill9("router")  # the poller lives in the router process
    await asyncio.sleep(1.0)
    stack.start("router")

    case = await stack.finished(case_id, timeout=120)
    assert case["status"] == "COMPLETED", case
    transitions = step_transitions(case)
    assert transitions[-1] == "COMPLETED"
    assert len(transitions) == len(set(transitions)), f"a transition was applied twice: {transitions}"
    assert transitions == [s for s in STAGES if s in transitions], "the order of the stages held"
    entry = await ledger_entry(stack, case["steps"][0]["id"])
    assert entry["state"]["tahap"] == "SELESAI"
