"""Two of the combined requests citizens bring to the MPP, over the real bus: starting a
micro business (OSS NIB -> DJP KSWP -> BPJPH halal self-declare, each step fed by the
earlier ones' outputs) and renewing a SIM with the JKN check first (BPJS Kesehatan ->
Polri). Each completes end to end; when the first step is refused, the later steps are
skipped (CANCELLED, never sent to their agency) and the case ends REJECTED.

Every process is separate: API, relay, router, and a simulator plus an adapter worker
per agency, on real Kafka and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.bpjs_kesehatan.simulator import DEV_CONS_ID, DEV_SECRET
from adapters.oss import DEV_CREDENTIALS
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Step
from support.samples import RENDANG
from support.stack import HubStack, step_history

NIK = "1375015203900007"  # Bukittinggi: active JKN member, KSWP VALID
NIK_NOT_IN_JKN = "1375010101900100"  # serial ending 00: not in the JKN register
AGENCIES = ("oss", "djp", "bpjph", "bpjs_kesehatan", "polri")


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    async with hub_stack(
        agencies=AGENCIES,
        extra_env={
            **{f"MPP_AGENCIES__OSS__{name.upper()}": value for name, value in DEV_CREDENTIALS.items()},
            "MPP_AGENCIES__DJP__OAUTH_CLIENT_ID": "mpp-hub",
            "MPP_AGENCIES__DJP__OAUTH_CLIENT_SECRET": "dev-djp-client-secret",
            "MPP_AGENCIES__BPJPH__API_KEY": "dev-bpjph-api-key",
            "MPP_AGENCIES__BPJPH__POLL_INTERVAL_SECONDS": "0.3",
            "MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID": DEV_CONS_ID,
            "MPP_AGENCIES__BPJS_KESEHATAN__SECRET": DEV_SECRET,
            "MPP_AGENCIES__POLRI__CALLBACK_SECRET": "dev-polri-callback-secret",
        },
    ) as hub:
        await hub.set_knobs("bpjph", polls_per_stage=1)
        await hub.set_knobs("polri", verdict_delay_ms=200)
        yield hub


async def step_inputs(stack: HubStack, case_id: str) -> dict[str, dict[str, Any]]:
    """Step name -> the inputs the hub sent its agency (built from the earlier steps' outputs)."""
    engine = create_engine(stack.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Step.name, Step.inputs).where(Step.case_id == uuid.UUID(case_id)))).all()
    finally:
        await engine.dispose()
    return {name: dict(inputs) for name, inputs in rows}


async def applied(stack: HubStack) -> dict[str, int]:
    """How many applications each agency's simulator has recorded."""
    return {agency: (await stack.ledger(agency))["applied"] for agency in AGENCIES}


# --- start a micro business -----------------------------------------------------------------


def micro_business(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "business_name": "Kedai Nasi Kapau Uni Siti",
        "kbli": "56103",  # a food stall: low risk, the NIB is the licence
        "regency_code": "1375",
        "capital": 50_000_000,
        "products": [RENDANG],
    }
    return {"service": "mpp.micro_business_start", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": {**data, **changes}}


async def test_a_micro_business_gets_its_nib_then_its_tax_status_then_a_halal_certificate_carrying_both(stack: HubStack) -> None:
    case_id = await stack.submit(micro_business())

    case = (await stack.wait_terminal([case_id], timeout=180))[case_id]

    assert case["status"] == "COMPLETED", case["error"]
    steps = {s["name"]: s for s in case["steps"]}
    assert {name: s["agency"] for name, s in steps.items()} == {"nib": "oss", "kswp": "djp", "halal": "bpjph"}
    outputs = case["outputs"]
    assert (outputs["nib"]["risk_level"], outputs["nib"]["licence_complete"]) == ("low", True)
    assert outputs["kswp"]["status"] == "VALID"
    assert outputs["halal"]["certificate_number"]
    halal_inputs = (await step_inputs(stack, case_id))["halal"]
    assert halal_inputs["nib"] == outputs["nib"]["nib"], "the halal application carries the NIB just issued"
    assert (halal_inputs["npwp"], halal_inputs["taxpayer_status"]) == (NIK, "VALID"), "and the KSWP answer"
    assert (halal_inputs["route"], halal_inputs["business_scale"]) == ("self_declare", "micro")
    history = step_history(case)
    assert history.index(("nib", "COMPLETED")) < history.index(("kswp", "ROUTED"))
    assert history.index(("kswp", "COMPLETED")) < history.index(("halal", "ROUTED"))


async def test_a_refused_nib_ends_the_case_rejected_before_the_tax_office_or_bpjph_is_asked(stack: HubStack) -> None:
    before = await applied(stack)
    case_id = await stack.submit(micro_business(capital=1_500_000_000))  # above Rp1 billion is not micro

    case = (await stack.wait_terminal([case_id], timeout=120))[case_id]

    assert case["status"] == "REJECTED"
    assert case["error"]["code"] == "business_scale_mismatch" and case["error"]["message"].startswith("nib:")
    assert {s["name"]: s["status"] for s in case["steps"]} == {"nib": "REJECTED", "kswp": "CANCELLED", "halal": "CANCELLED"}
    history = step_history(case)
    assert ("kswp", "ROUTED") not in history and ("halal", "ROUTED") not in history
    after = await applied(stack)
    assert (after["djp"], after["bpjph"]) == (before["djp"], before["bpjph"]), "the skipped steps never reached their agency"


# --- SIM renewal with the JKN check ---------------------------------------------------------


def sim_renewal(nik: str = NIK) -> dict[str, Any]:
    data = {"licence_class": "C", "old_sim_number": "123456789012", "old_sim_valid_until": (date.today() + timedelta(days=20)).isoformat()}
    return {"service": "mpp.sim_renewal_with_jkn", "applicant": {"nik": nik, "name": "Budi Santoso"}, "data": data}


async def test_an_active_jkn_member_has_the_sim_renewed_after_the_check(stack: HubStack) -> None:
    case_id = await stack.submit(sim_renewal())

    case = (await stack.wait_terminal([case_id], timeout=120))[case_id]

    assert case["status"] == "COMPLETED", case["error"]
    steps = {s["name"]: s for s in case["steps"]}
    assert (steps["jkn"]["agency"], steps["sim"]["agency"]) == ("bpjs_kesehatan", "polri")
    assert steps["sim"]["depends_on"] == ["jkn"]
    assert case["outputs"]["jkn"]["membership_status"] == "AKTIF"
    assert case["outputs"]["sim"]["licence_class"] == "C"
    history = step_history(case)
    assert history.index(("jkn", "COMPLETED")) < history.index(("sim", "ROUTED")), "the renewal waits for the check"


async def test_an_applicant_missing_from_the_jkn_register_is_refused_and_polri_is_never_asked(stack: HubStack) -> None:
    before = await applied(stack)
    case_id = await stack.submit(sim_renewal(NIK_NOT_IN_JKN))

    case = (await stack.wait_terminal([case_id], timeout=120))[case_id]

    assert case["status"] == "REJECTED"
    assert case["error"]["code"] == "jkn_not_registered" and case["error"]["message"].startswith("jkn:")
    assert {s["name"]: s["status"] for s in case["steps"]} == {"jkn": "REJECTED", "sim": "CANCELLED"}
    assert ("sim", "ROUTED") not in step_history(case)
    assert (await applied(stack))["polri"] == before["polri"], "the skipped renewal never reached Polri"
