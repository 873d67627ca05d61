"""Specification of Polri's SPKT loss report and of the active-JKN rule for SKCK and SIM.

* SKCK (Perpol 6/2023) and SIM (Perpol 2/2023) need an active JKN membership: the Polri
  simulator reads the JKN register the BPJS Kesehatan simulator answers from, so a NIK
  is active (or not) at both agencies.
* The SPKT loss report is free and issued at once; its number is what Samsat and
  Imigrasi ask for.

Facts: docs/domain-sources.md, "Polri" and "BPJS Kesehatan".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.bpjs_kesehatan.simulator import peserta
from adapters.polri import native
from adapters.polri.adapter import PolriAdapter
from adapters.polri.contract import loss_report_data
from adapters.polri.simulator import putusan_laporan_kehilangan, putusan_sim, putusan_skck
from adapters.sdk import BackendSettings
from adapters.sdk.testing.recording import RecordingTransport, answer
from adapters.sdk.testing.registers import jkn_aktif, nomor_kartu_jkn
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, Applicant, StepCommand
from schemas.services.polri import LossReportInput, LossReportOutput

TODAY = date(2026, 1, 14)
ACTIVE = "1375015203900007"
CALLBACK = "http://hub.test/v1/callbacks/polri/x"


def skck(nik: str, **changes: Any) -> native.PermohonanSkck:
    body = {"jenis_permohonan": "BARU", "nik": nik, "nama_lengkap": "Siti Rahmah", "alamat_domisili": "Jl. Sudirman No. 5"}
    return native.PermohonanSkck.model_validate(body | {"keperluan": "Melamar kerja", "callback_url": CALLBACK} | changes)


def sim(nik: str) -> native.PermohonanPerpanjanganSim:
    body = {"nik": nik, "nama_lengkap": "Siti Rahmah", "golongan_sim": "C", "nomor_sim_lama": "137501234567"}
    return native.PermohonanPerpanjanganSim.model_validate(body | {"masa_berlaku_sim_lama": "2026-02-01", "callback_url": CALLBACK})


def verdict(callbacks: list[dict[str, Any]]) -> tuple[str, str | None]:
    last = callbacks[-1]
    return last["status"], (last.get("penolakan") or {}).get("kode_alasan")


# --- active JKN ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        (ACTIVE, ("TERBIT", None)),
        ("1375022708850081", ("DITOLAK", "JKN_TIDAK_AKTIF")),  # arrears
        ("1375024506850082", ("DITOLAK", "JKN_TIDAK_AKTIF")),  # removed from PBI
        ("1375031708800083", ("DITOLAK", "JKN_TIDAK_AKTIF")),  # employment ended
        ("1375010101900100", ("DITOLAK", "JKN_TIDAK_TERDAFTAR")),  # no member at all
    ],
)
def test_skck_and_sim_need_an_active_jkn_membership(nik: str, expected: tuple[str, str | None]) -> None:
    assert verdict(putusan_skck(skck(nik), 1, TODAY)) == expected
    assert verdict(putusan_sim(sim(nik), 1, TODAY)) == expected


def test_a_jkn_card_that_is_not_the_applicants_is_refused_and_the_right_one_accepted() -> None:
    wrong = nomor_kartu_jkn("1375020101850011")
    assert verdict(putusan_skck(skck(ACTIVE, no_kartu_jkn=wrong), 1, TODAY)) == ("DITOLAK", "JKN_TIDAK_SESUAI")
    assert verdict(putusan_skck(skck(ACTIVE, no_kartu_jkn=nomor_kartu_jkn(ACTIVE)), 1, TODAY)) == ("TERBIT", None)


@pytest.mark.parametrize("nik", [ACTIVE, "1375022708850081", "1375024506850082", "1375031708800083", "1375020101850011"])
def test_polri_and_bpjs_kesehatan_read_the_same_jkn_register(nik: str) -> None:
    member = peserta(nik)
    assert (member.status_peserta.keterangan == "AKTIF") == jkn_aktif(nik)
    assert member.no_kartu == nomor_kartu_jkn(nik)


# --- the SPKT loss report -------------------------------------------------------------


def laporan(lost_on: date) -> native.PermohonanLaporanKehilangan:
    body = {"nik": ACTIVE, "nama_lengkap": "Siti Rahmah", "barang": [{"jenis": "STNK"}, {"jenis": "PASPOR"}]}
    extra = {"tempat_kejadian": "Pasar Atas", "kronologi": "Dompet hilang di Pasar Atas.", "callback_url": CALLBACK}
    return native.PermohonanLaporanKehilangan.model_validate(body | {"tanggal_kejadian": lost_on.isoformat()} | extra)


def test_a_loss_report_is_issued_at_once_free_with_a_numbered_report_of_the_lost_items() -> None:
    [issued] = putusan_laporan_kehilangan(laporan(date(2026, 1, 13)), 42, TODAY)
    report = native.DokumenLaporanKehilangan.model_validate(issued["laporan_kehilangan"])
    assert issued["status"] == "TERBIT"
    assert report.nomor_laporan == "STPLK/0042/I/2026/SPKT/POLRES BUKITTINGGI"
    assert (report.tanggal_lapor, report.barang, report.biaya_pnbp) == (TODAY, [native.JenisBarang.STNK, native.JenisBarang.PASPOR], 0)


def test_a_loss_dated_after_today_is_refused() -> None:
    assert verdict(putusan_laporan_kehilangan(laporan(date(2026, 1, 15)), 1, TODAY)) == ("DITOLAK", "KEJADIAN_BELUM_TERJADI")
    assert verdict(putusan_laporan_kehilangan(laporan(TODAY), 1, TODAY))[0] == "TERBIT"


def test_a_loss_report_needs_at_least_one_lost_item() -> None:
    with pytest.raises(ValidationError):
        LossReportInput.model_validate(loss_report_data(TODAY) | {"items": []})


RECEIPT = {"status": "DITERIMA", "nomor_registrasi": "R1", "layanan": "LAPORAN_KEHILANGAN", "diterima_pada": "2026-01-14T09:30:00+07:00"}


@pytest.fixture
async def filed() -> AsyncIterator[tuple[PolriAdapter, RecordingTransport]]:
    """The adapter, and the transport that records what it sends and answers a receipt."""
    settings = BackendSettings.model_validate(
        {"base_url": "http://polri.test", "callback_base_url": "http://hub.test", "callback_secret": "rahasia"}
    )
    transport = RecordingTransport(answer(202, RECEIPT))
    instance = PolriAdapter(settings, transport=transport)
    yield instance, transport
    await instance.aclose()


@pytest.fixture
def adapter(filed: tuple[PolriAdapter, RecordingTransport]) -> PolriAdapter:
    return filed[0]


async def test_the_adapter_files_a_loss_report_in_polris_words(filed: tuple[PolriAdapter, RecordingTransport]) -> None:
    adapter, transport = filed
    step = uuid.uuid4()
    command = StepCommand(
        service="polri.loss_report",
        operation="loss_report",
        applicant=Applicant(nik=ACTIVE, name="Siti Rahmah"),
        data=loss_report_data(date(2026, 1, 13), "stnk", "passport"),
    )
    report = await adapter.execute(command, step)
    [request] = transport.requests
    body = json.loads(request.content)
    assert request.url.path == native.PATH_LAPORAN_KEHILANGAN
    assert body["barang"] == [{"jenis": "STNK"}, {"jenis": "PASPOR"}]
    assert (body["tanggal_kejadian"], body["tempat_kejadian"]) == ("2026-01-13", "Pasar Atas, Bukittinggi")
    assert report.status is Status.ACCEPTED


def notice(step: uuid.UUID, layanan: str, status: str) -> dict[str, Any]:
    """A callback's envelope, as Polri sends it about ``step``."""
    envelope = {"nomor_registrasi": "POLRES-BKT/SPKT/20260114/000042", "id_permintaan": str(step), "layanan": layanan}
    return envelope | {"status": status, "waktu": "2026-01-14T09:30:02+07:00"}


async def test_an_issued_report_becomes_canonical_outputs(adapter: PolriAdapter) -> None:
    step = uuid.uuid4()
    body = notice(step, "LAPORAN_KEHILANGAN", "TERBIT") | {
        "laporan_kehilangan": {
            "nomor_laporan": "STPLK/0042/I/2026/SPKT/POLRES BUKITTINGGI",
            "tanggal_lapor": "2026-01-14",
            "barang": ["STNK", "PASPOR"],
            "biaya_pnbp": 0,
        },
    }
    report = adapter.translate_callback(AgencyCallback(content_type="application/json", body=json.dumps(body)), step)
    outputs = LossReportOutput.model_validate(report.outputs)
    assert report.status is Status.COMPLETED
    assert outputs.report_number == "STPLK/0042/I/2026/SPKT/POLRES BUKITTINGGI"
    assert [item.value for item in outputs.items] == ["stnk", "passport"]


async def test_an_inactive_jkn_refusal_keeps_polris_code(adapter: PolriAdapter) -> None:
    step = uuid.uuid4()
    body = notice(step, "SKCK_BARU", "DITOLAK") | {
        "penolakan": {"kode_alasan": "JKN_TIDAK_AKTIF", "alasan": "Kepesertaan JKN pemohon tidak aktif."}
    }
    report = adapter.translate_callback(AgencyCallback(content_type="application/json", body=json.dumps(body)), step)
    assert report.status is Status.REJECTED
    assert report.error is not None and (report.error.code, report.error.agency_code) == ("jkn_inactive", "JKN_TIDAK_AKTIF")
