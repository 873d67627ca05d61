"""Specification of Samsat's replacement of a lost or damaged STNK and its mutation out
to another province: the simulator's native rules and the adapter's mapping.

Facts: docs/domain-sources.md, "Samsat" (Perpol 7/2021 art. 60; new STNK Rp100,000 /
Rp200,000 under PP 76/2020; mutation letter Rp150,000 / Rp250,000 under PP 60/2016).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.samsat.adapter import SamsatAdapter
from adapters.samsat.contract import REPORT_NUMBER, mutation_in_command, mutation_out_command, stnk_replacement_command
from adapters.samsat.native import PATH_MUTASI_KELUAR, PATH_PENGGANTIAN_STNK, HasilMutasiKeluar, HasilPenggantianStnk
from adapters.samsat.simulator import WIB, create_app, data_register
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.testing.client import against_simulator, in_process, read_ledger
from schemas.lifecycle import Status
from schemas.messages import StepCommand
from schemas.services.samsat import MutationInOutput, MutationOutOutput, StnkReplacementInput, StnkReplacementOutput

OWNER = "1375015203900007"
TODAY = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday


def papers(nopol: str) -> dict[str, Any]:
    record = data_register(nopol)
    assert record is not None
    return {"no_bpkb": record.no_bpkb, "cek_fisik": {"nomor_rangka": record.nomor_rangka, "nomor_mesin": record.nomor_mesin}}


def penggantian(nopol: str = "BA 1234 LZ", jenis: str = "MOBIL", **ubah: Any) -> dict[str, Any]:
    body = {"nopol": nopol, "nik_pemilik": OWNER, "jenis_kendaraan": jenis, "alasan": "HILANG", "no_laporan_polisi": REPORT_NUMBER}
    return {**body, **papers(nopol), **ubah}


def mutasi(nopol: str = "BA 4321 LQ", jenis: str = "MOTOR", **ubah: Any) -> dict[str, Any]:
    return {"nopol": nopol, "nik_pemilik": OWNER, "jenis_kendaraan": jenis, "kode_provinsi_tujuan": "31", **papers(nopol), **ubah}


async def post(path: str, body: dict[str, Any]) -> tuple[httpx.Response, dict[str, Any]]:
    async with in_process(create_app(clock=lambda: TODAY), "http://samsat.test") as client:
        reply = await client.post(path, json=body, headers={"Idempotency-Key": "step-1"})
        return reply, await read_ledger(client)


# --- the simulator ------------------------------------------------------------------


@pytest.mark.parametrize(("jenis", "biaya"), [("MOBIL", 200_000), ("MOTOR", 100_000)])
async def test_a_lost_stnk_is_replaced_for_the_new_stnk_fee_only(jenis: str, biaya: int) -> None:
    reply, book = await post(PATH_PENGGANTIAN_STNK, penggantian(jenis=jenis))
    assert reply.status_code == 200, reply.text
    body = HasilPenggantianStnk.model_validate(reply.json())
    assert (body.biaya_stnk, body.total_bayar) == (biaya, biaya)
    assert date(2027, 1, 14) <= body.stnk_berlaku_sampai <= date(2030, 1, 14)  # the replaced STNK's validity
    assert book["entries"][-1]["operation"] == "STNK_PENGGANTIAN"


async def test_a_damaged_stnk_needs_no_police_report() -> None:
    reply, _ = await post(PATH_PENGGANTIAN_STNK, penggantian(alasan="RUSAK", no_laporan_polisi=None))
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    ("ubah", "status", "kode"),
    [
        ({"no_laporan_polisi": None}, 422, "LAPORAN_KEHILANGAN_WAJIB"),
        ({"nik_pemilik": "1375015203900099"}, 409, "NIK_TIDAK_SESUAI"),
        ({"no_bpkb": "P12345678"}, 409, "BPKB_TIDAK_SESUAI"),
    ],
    ids=["lost-without-report", "not-owner", "wrong-bpkb"],
)
async def test_replacement_refusals_apply_nothing(ubah: dict[str, Any], status: int, kode: str) -> None:
    reply, book = await post(PATH_PENGGANTIAN_STNK, penggantian(**ubah))
    assert (reply.status_code, reply.json()["kode_error"], book["applied"]) == (status, kode, 0)


@pytest.mark.parametrize(("jenis", "biaya"), [("MOBIL", 250_000), ("MOTOR", 150_000)])
async def test_a_mutation_out_charges_the_mutation_letter_and_releases_the_file_in_3_working_days(jenis: str, biaya: int) -> None:
    reply, _ = await post(PATH_MUTASI_KELUAR, mutasi(jenis=jenis))
    assert reply.status_code == 200, reply.text
    body = HasilMutasiKeluar.model_validate(reply.json())
    assert (body.biaya_mutasi, body.total_bayar, body.kode_provinsi_tujuan) == (biaya, biaya, "31")
    assert body.berkas_siap == date(2026, 1, 20)  # Thu 15, (Fri 16 is a holiday), Mon 19, Tue 20
    assert body.no_surat_mutasi.startswith("MTS/13-31/")


async def test_a_mutation_out_to_the_same_province_is_refused() -> None:
    reply, book = await post(PATH_MUTASI_KELUAR, mutasi(kode_provinsi_tujuan="13"))
    assert (reply.status_code, reply.json()["kode_error"], book["applied"]) == (409, "MUTASI_DALAM_PROVINSI", 0)


# --- the canonical model and the adapter ----------------------------------------------


def test_a_lost_stnk_without_the_police_report_number_is_refused_before_it_reaches_samsat() -> None:
    data = stnk_replacement_command(report=None).data
    with pytest.raises(ValidationError, match="police_report_number is required"):
        StnkReplacementInput.model_validate(data)


def test_the_report_number_is_normalised_as_printed() -> None:
    data = {**stnk_replacement_command().data, "police_report_number": " stplk / 0042/I/2026 /spkt/Polres Bukittinggi "}
    assert StnkReplacementInput.model_validate(data).police_report_number == REPORT_NUMBER


@pytest.fixture
async def simulated() -> AsyncIterator[SamsatAdapter]:
    app = create_app(clock=lambda: TODAY)
    async with against_simulator(app, lambda t: SamsatAdapter(BackendSettings(base_url="http://samsat.test"), transport=t)) as adapter:
        yield adapter


async def test_replacement_and_mutation_round_trip_through_the_simulator(simulated: SamsatAdapter) -> None:
    replaced = await simulated.execute(stnk_replacement_command(), uuid.uuid4())
    moved = await simulated.execute(mutation_out_command(), uuid.uuid4())
    assert {replaced.status, moved.status} == {Status.COMPLETED}
    assert StnkReplacementOutput.model_validate(replaced.outputs).amount == 200_000
    mutation = MutationOutOutput.model_validate(moved.outputs)
    assert (mutation.amount, mutation.destination_province) == (150_000, "31")


async def test_refusals_become_canonical_rejections(simulated: SamsatAdapter) -> None:
    with pytest.raises(AgencyRejection) as refused:
        await simulated.execute(mutation_out_command(destination="13"), uuid.uuid4())
    assert (refused.value.code, refused.value.agency_code) == ("mutation_within_province", "MUTASI_DALAM_PROVINSI")


async def test_a_lost_stnk_without_a_report_never_reaches_samsat(simulated: SamsatAdapter) -> None:
    with pytest.raises(AgencyAnswerInvalid) as invalid:
        await simulated.execute(stnk_replacement_command(report=None), uuid.uuid4())
    assert invalid.value.code == "invalid_step_input"


async def test_a_car_moved_in_from_jakarta_gets_ba_plates_and_pays_a_new_registration(simulated: SamsatAdapter) -> None:
    report = await simulated.execute(mutation_in_command(), uuid.uuid4())
    output = MutationInOutput.model_validate(report.outputs)
    b = output.breakdown
    assert (b.stnk_fee, b.plate_fee, b.bpkb_fee, b.swdkllj) == (200_000, 100_000, 375_000, 143_000)
    assert output.amount == b.pkb + b.swdkllj + b.stnk_fee + b.plate_fee + b.bpkb_fee
    assert output.new_plate.startswith("BA ")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (mutation_in_command(origin="13"), "mutation_within_province"),
        (mutation_in_command().model_copy(update={"data": mutation_in_command().data | {"mutation_letter_number": "MTS/31-32/1/2026"}}),
         "mutation_letter_unknown"),
    ],
    ids=["from-this-province", "letter-for-another-province"],
)  # fmt: skip
async def test_a_mutation_in_needs_a_letter_from_another_province_addressed_here(
    simulated: SamsatAdapter, command: StepCommand, code: str
) -> None:
    with pytest.raises(AgencyRejection) as refused:
        await simulated.execute(command, uuid.uuid4())
    assert refused.value.code == code
