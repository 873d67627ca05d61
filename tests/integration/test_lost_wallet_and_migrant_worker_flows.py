"""The lost-wallet and migrant-worker (PMI) composites over the real broker and
PostgreSQL, every agency a separate adapter process against its simulator.

* Lost wallet: the Polri SPKT loss report, then Samsat's duplicate STNK and Imigrasi's
  lost-passport replacement in parallel, both carrying the report's number.
* Migrant worker pack: the BPJS Kesehatan JKN check, the Polri SKCK (refused to an
  inactive JKN member), then the free PMI passport carrying the SKCK's number.

A step that does not complete ends the case and its later steps never reach their
agencies (CANCELLED).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from typing import Any

import pytest

from adapters.bpjs_kesehatan.simulator import DEV_CONS_ID, DEV_SECRET
from adapters.samsat.simulator import data_register
from support.stack import HubStack

NIK = "1375015203900007"  # active JKN member, clean record
NIK_JKN_ARREARS = "1375022708850081"  # JKN inactive: contributions in arrears
NIK_NO_JKN = "1375010101900100"  # not in the JKN register at all
POLRI_SECRET = "dev-polri-callback-secret"


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    env = {
        "MPP_AGENCIES__POLRI__CALLBACK_SECRET": POLRI_SECRET,
        "MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS": "0.3",
        "MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID": DEV_CONS_ID,
        "MPP_AGENCIES__BPJS_KESEHATAN__SECRET": DEV_SECRET,
    }
    async with hub_stack(agencies=("samsat", "polri", "imigrasi", "bpjs_kesehatan"), extra_env=env) as hub:
        await hub.set_knobs("polri", verdict_delay_ms=200)
        await hub.set_knobs("imigrasi", polls_per_stage=1)
        yield hub


def lost_wallet(lost_on: date, plate: str = "BA 1234 LZ") -> dict[str, Any]:
    record = data_register(plate)
    assert record is not None
    data = {
        "lost_items": [{"kind": "stnk"}, {"kind": "passport"}, {"kind": "ktp"}],
        "lost_on": lost_on.isoformat(),
        "place": "Pasar Atas, Bukittinggi",
        "chronology": "Dompet berisi STNK, paspor dan KTP hilang saat berbelanja.",
        "plate": plate,
        "vehicle_type": "car",
        "bpkb_number": record.no_bpkb,
        "physical_check": {"chassis_number": record.nomor_rangka, "engine_number": record.nomor_mesin},
        "passport_type": "electronic",
        "passport_validity_years": 10,
        "appointment_date": (date.today() + timedelta(days=3)).isoformat(),
        "supporting_document": "birth_certificate",
    }
    return {"service": "mpp.lost_wallet", "applicant": {"nik": NIK, "name": "Siti Rahmah"}, "data": data}


def migrant_pack(nik: str = NIK) -> dict[str, Any]:
    data = {
        "address": "Jl. Sudirman No. 5, Benteng Pasar Atas, Bukittinggi",
        "appointment_date": (date.today() + timedelta(days=3)).isoformat(),
        "supporting_document": "diploma",
        "destination_country": "MY",
        "work_agreement_number": "PK/2026/0042",
    }
    return {"service": "mpp.migrant_worker_pack", "applicant": {"nik": nik, "name": "Siti Rahmah"}, "data": data}


async def finish(stack: HubStack, body: dict[str, Any]) -> dict[str, Any]:
    return await stack.submit_and_wait(body, timeout=90)


def steps(case: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {s["name"]: (s["agency"], s["status"]) for s in case["steps"]}


def step_id(case: dict[str, Any], name: str) -> str:
    return str(next(s["id"] for s in case["steps"] if s["name"] == name))


async def applied_state(stack: HubStack, agency: str, key: str) -> dict[str, Any]:
    """What the agency's simulator recorded for the step (its ledger entry's state)."""
    entry = next(e for e in (await stack.ledger(agency))["entries"] if e["key"] == key)
    return dict(entry["state"])


def step_error(case: dict[str, Any], name: str) -> str | None:
    step = next(s for s in case["steps"] if s["name"] == name)
    return (step.get("error") or {}).get("code")


async def test_lost_wallet_replaces_the_stnk_and_the_passport_with_the_reports_number(stack: HubStack) -> None:
    case = await finish(stack, lost_wallet(date.today() - timedelta(days=1)))

    assert case["status"] == "COMPLETED", case["error"]
    assert steps(case) == {
        "loss_report": ("polri", "COMPLETED"),
        "stnk": ("samsat", "COMPLETED"),
        "passport": ("imigrasi", "COMPLETED"),
    }
    report_number = case["outputs"]["loss_report"]["report_number"]
    assert report_number.startswith("STPLK/") and report_number.endswith("/SPKT/POLRES BUKITTINGGI")
    assert case["outputs"]["loss_report"]["items"] == ["stnk", "passport", "ktp"]
    assert case["outputs"]["stnk"]["amount"] == 200_000  # new STNK for a car
    passport = case["outputs"]["passport"]
    assert (passport["charge"], passport["amount_paid"]) == (1_000_000, 950_000 + 1_000_000)
    samsat = await applied_state(stack, "samsat", step_id(case, "stnk"))
    imigrasi = await applied_state(stack, "imigrasi", step_id(case, "passport"))
    assert (samsat["alasan"], samsat["no_laporan_polisi"]) == ("HILANG", report_number)
    assert imigrasi["nomor_laporan_kehilangan"] == report_number


async def test_a_refused_loss_report_skips_both_replacements(stack: HubStack) -> None:
    before = {agency: (await stack.ledger(agency))["applied"] for agency in ("samsat", "imigrasi")}

    case = await finish(stack, lost_wallet(date.today() + timedelta(days=2)))  # a loss dated ahead

    assert case["status"] == "REJECTED"
    assert steps(case) == {
        "loss_report": ("polri", "REJECTED"),
        "stnk": ("samsat", "CANCELLED"),
        "passport": ("imigrasi", "CANCELLED"),
    }
    assert step_error(case, "loss_report") == "loss_date_in_future"
    after = {agency: (await stack.ledger(agency))["applied"] for agency in ("samsat", "imigrasi")}
    assert after == before, "the skipped steps never reached Samsat or Imigrasi"


async def test_migrant_worker_pack_checks_jkn_issues_the_skck_and_a_free_passport_with_it(stack: HubStack) -> None:
    case = await finish(stack, migrant_pack())

    assert case["status"] == "COMPLETED", case["error"]
    assert steps(case) == {
        "jkn": ("bpjs_kesehatan", "COMPLETED"),
        "skck": ("polri", "COMPLETED"),
        "passport": ("imigrasi", "COMPLETED"),
    }
    assert case["outputs"]["jkn"]["membership_status"] == "AKTIF"
    imigrasi = await applied_state(stack, "imigrasi", step_id(case, "passport"))
    assert imigrasi["nomor_skck"] == case["outputs"]["skck"]["skck_number"]
    assert (case["outputs"]["passport"]["amount_paid"], case["outputs"]["passport"]["validity_years"]) == (0, 5)


async def test_an_inactive_jkn_member_is_refused_the_skck_and_never_reaches_imigrasi(stack: HubStack) -> None:
    before = (await stack.ledger("imigrasi"))["applied"]

    case = await finish(stack, migrant_pack(NIK_JKN_ARREARS))

    assert case["status"] == "REJECTED"
    assert steps(case) == {
        "jkn": ("bpjs_kesehatan", "COMPLETED"),  # an inactive membership is an answer
        "skck": ("polri", "REJECTED"),
        "passport": ("imigrasi", "CANCELLED"),
    }
    assert case["outputs"]["jkn"]["membership_status"] == "TIDAK_AKTIF"
    assert step_error(case, "skck") == "jkn_inactive"
    assert (await stack.ledger("imigrasi"))["applied"] == before


async def test_someone_outside_jkn_is_refused_at_the_first_step_and_the_rest_is_skipped(stack: HubStack) -> None:
    case = await finish(stack, migrant_pack(NIK_NO_JKN))

    assert case["status"] == "REJECTED"
    assert steps(case) == {
        "jkn": ("bpjs_kesehatan", "REJECTED"),
        "skck": ("polri", "CANCELLED"),
        "passport": ("imigrasi", "CANCELLED"),
    }
    assert step_error(case, "jkn") == "jkn_not_registered"
