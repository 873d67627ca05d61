"""Specification of the Imigrasi passport service simulator (SOAP 1.1, polled).

The Imigrasi adapter is tested against this simulator, so these tests pin down the
behaviour the adapter may rely on: the wire format (envelopes, namespaces,
SOAPAction, faults with HTTP 500), the stages an application goes through as it is
polled, the PP 45/2024 fees and dates, apply-at-most-once per IdTransaksi, and the
fault knobs. Requests are written out as literal XML so the wire format is pinned
here, not only by the shared codec.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from adapters.imigrasi.simulator import WIB, ImigrasiKnobs, create_app
from adapters.sdk.testing.client import Driver, in_process, poll_until

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PAS = "http://ws.imigrasi.go.id/simkim/paspor/v1"
PATH = "/ws/PasporService"
NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday: the counter's service day
NEXT_WEDNESDAY = date(2026, 1, 21)
NIK = "1375015203900007"


def envelope(operation: str, inner: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:pas="{PAS}">'
        f"<soap:Header/><soap:Body><pas:{operation}>{inner}</pas:{operation}></soap:Body></soap:Envelope>"
    )


def ajukan_xml(
    key: str = "step-1",
    *,
    jenis_permohonan: str = "BARU",
    nik: str = NIK,
    nama: str = "Siti Rahmah",
    jenis_paspor: str = "PASPOR_BIASA_ELEKTRONIK",
    masa_berlaku: str = "10",
    tanggal: str = "2026-01-15",
    dokumen: str = "AKTA_KELAHIRAN",
    paspor_lama: str | None = None,
    extra: str = "",
) -> str:
    lama = f"<pas:NomorPasporLama>{paspor_lama}</pas:NomorPasporLama>" if paspor_lama else ""
    return envelope(
        "AjukanPermohonan",
        f"<pas:IdTransaksi>{key}</pas:IdTransaksi>"
        f"<pas:JenisPermohonan>{jenis_permohonan}</pas:JenisPermohonan>"
        f"<pas:Pemohon><pas:NIK>{nik}</pas:NIK><pas:NamaLengkap>{nama}</pas:NamaLengkap></pas:Pemohon>"
        f"<pas:JenisPaspor>{jenis_paspor}</pas:JenisPaspor>"
        f"<pas:MasaBerlaku>{masa_berlaku}</pas:MasaBerlaku>"
        f"<pas:TanggalKedatanganDiinginkan>{tanggal}</pas:TanggalKedatanganDiinginkan>"
        f"<pas:DokumenPendukung>{dokumen}</pas:DokumenPendukung>{lama}{extra}",
    )


def cek_xml(nomor: str) -> str:
    return envelope("CekStatusPermohonan", f"<pas:NomorPermohonan>{nomor}</pas:NomorPermohonan>")


def batal_xml(key: str = "step-1", nomor: str | None = None) -> str:
    nomor_xml = f"<pas:NomorPermohonan>{nomor}</pas:NomorPermohonan>" if nomor else ""
    return envelope(
        "BatalkanPermohonan", f"<pas:IdTransaksi>{key}</pas:IdTransaksi>{nomor_xml}<pas:AlasanPembatalan>Batal</pas:AlasanPembatalan>"
    )


def action(operation: str) -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{PAS}/{operation}"'}


def is_soap_envelope(content: bytes) -> bool:
    try:
        return ET.fromstring(content).tag == f"{{{SOAP}}}Envelope"
    except ET.ParseError:
        return False


class Answer:
    """A parsed SOAP answer: the body element, with helpers to read its fields."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        root = ET.fromstring(response.content)
        assert root.tag == f"{{{SOAP}}}Envelope"
        (self.body,) = list(root.find(f"{{{SOAP}}}Body"))  # type: ignore[arg-type]

    def text(self, path: str) -> str | None:
        """``path`` like ``Tagihan/KodeBilling`` in the service namespace."""
        return self.body.findtext("/".join(f"{{{PAS}}}{p}" for p in path.split("/")))

    @property
    def status(self) -> str | None:
        return self.text("Status")

    @property
    def message(self) -> str:
        """The fault detail's Pesan."""
        return self.body.findtext(f"detail/{{{PAS}}}GalatLayanan/{{{PAS}}}Pesan") or ""

    @property
    def fault(self) -> tuple[str, str] | None:
        if self.body.tag != f"{{{SOAP}}}Fault":
            return None
        return (self.body.findtext("faultcode") or "", self.body.findtext(f"detail/{{{PAS}}}GalatLayanan/{{{PAS}}}KodeGalat") or "")


class Sim(Driver):
    """A client wired straight into a fresh simulator app (no network)."""

    async def post(self, operation: str, xml: str) -> httpx.Response:
        return await self.client.post(PATH, content=xml.encode(), headers=action(operation))

    async def ajukan(self, **kwargs: Any) -> Answer:
        return Answer(await self.post("AjukanPermohonan", ajukan_xml(**kwargs)))

    async def cek(self, nomor: str) -> Answer:
        return Answer(await self.post("CekStatusPermohonan", cek_xml(nomor)))

    async def batal(self, key: str = "step-1", nomor: str | None = None) -> Answer:
        return Answer(await self.post("BatalkanPermohonan", batal_xml(key, nomor)))

    async def submit(self, **kwargs: Any) -> str:
        answer = await self.ajukan(**kwargs)
        assert answer.response.status_code == 200, answer.response.text
        nomor = answer.text("NomorPermohonan")
        assert nomor
        return nomor

    async def poll_until(self, nomor: str, status: str, limit: int = 20) -> Answer:
        return await poll_until(lambda: self.cek(nomor), lambda a: a.status == status, limit=limit, what=f"{nomor} never reached {status}")


@asynccontextmanager
async def imigrasi(knobs: ImigrasiKnobs | None = None, *, ledger_path: str = ":memory:", now: datetime = NOW) -> AsyncIterator[Sim]:
    async with in_process(create_app(knobs, ledger_path=ledger_path, clock=lambda: now), "http://imigrasi.test") as client:
        yield Sim(client)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with imigrasi() as s:
        yield s


# --- the native protocol ------------------------------------------------------


async def test_submission_answers_a_soap_envelope_with_the_application_number_and_interview_day(sim: Sim) -> None:
    answer = await sim.ajukan(tanggal="2026-01-15")  # a Thursday

    assert answer.response.status_code == 200
    assert answer.response.headers["content-type"].startswith("text/xml")
    assert answer.body.tag == f"{{{PAS}}}AjukanPermohonanResponse"
    assert answer.status == "DITERIMA"
    assert answer.text("NomorPermohonan") == "AGM-20260114-000001"
    assert answer.text("TanggalPermohonan") == "2026-01-14"
    assert answer.text("JadwalKedatangan") == NEXT_WEDNESDAY.isoformat(), "the counter serves passports on Wednesdays"
    assert answer.text("KantorImigrasi") == "Kantor Imigrasi Kelas II Non TPI Agam"


@pytest.mark.parametrize(
    ("preferred", "interview"),
    [("2026-01-21", "2026-01-21"), ("2026-01-17", "2026-01-21"), ("2025-12-01", "2026-01-14"), ("2026-02-02", "2026-02-04")],
    ids=["a wednesday itself", "a saturday", "a past date means the next service day from today", "a monday"],
)
async def test_the_interview_is_on_the_first_wednesday_on_or_after_the_preferred_date(sim: Sim, preferred: str, interview: str) -> None:
    answer = await sim.ajukan(tanggal=preferred)
    assert answer.text("JadwalKedatangan") == interview


async def test_each_stage_lasts_polls_per_stage_polls_and_the_end_stays(sim: Sim) -> None:
    nomor = await sim.submit()

    seen = [(await sim.cek(nomor)).status for _ in range(10)]

    assert seen == [
        "DITERIMA",
        "MENUNGGU_PEMBAYARAN", "MENUNGGU_PEMBAYARAN",
        "DIPROSES", "DIPROSES",
        "SIAP_DIAMBIL", "SIAP_DIAMBIL",
        "SELESAI", "SELESAI", "SELESAI",
    ]  # fmt: skip


async def test_one_poll_per_stage_advances_on_every_poll() -> None:
    async with imigrasi(ImigrasiKnobs(polls_per_stage=1)) as sim:
        nomor = await sim.submit()
        seen = [(await sim.cek(nomor)).status for _ in range(4)]
    assert seen == ["MENUNGGU_PEMBAYARAN", "DIPROSES", "SIAP_DIAMBIL", "SELESAI"]


@pytest.mark.parametrize(
    ("jenis", "tahun", "tarif"),
    [
        ("PASPOR_BIASA_NON_ELEKTRONIK", "5", "350000"),
        ("PASPOR_BIASA_NON_ELEKTRONIK", "10", "650000"),
        ("PASPOR_BIASA_ELEKTRONIK", "5", "650000"),
        ("PASPOR_BIASA_ELEKTRONIK", "10", "950000"),
    ],
)
async def test_billing_charges_the_pp_45_2024_fee_payable_for_seven_days(sim: Sim, jenis: str, tahun: str, tarif: str) -> None:
    nomor = await sim.submit(jenis_paspor=jenis, masa_berlaku=tahun)

    answer = await sim.poll_until(nomor, "MENUNGGU_PEMBAYARAN")

    code = answer.text("Tagihan/KodeBilling") or ""
    assert len(code) == 15 and code.startswith("8") and code.isdigit(), "a SIMPONI PNBP billing code"
    assert answer.text("Tagihan/JumlahTagihan") == tarif
    assert answer.text("Tagihan/BatasPembayaran") == "2026-01-28", "7 days after the interview on 21 Jan"
    assert answer.text("Tagihan/TanggalBayar") is None and answer.text("Tagihan/NTPN") is None
    assert answer.text("Paspor/NomorPaspor") is None


async def test_after_payment_the_passport_is_promised_four_working_days_later(sim: Sim) -> None:
    nomor = await sim.submit()

    answer = await sim.poll_until(nomor, "DIPROSES")

    assert answer.text("Tagihan/TanggalBayar") == "2026-01-21"
    assert re.fullmatch(r"[0-9A-Z]{16}", answer.text("Tagihan/NTPN") or ""), "an NTPN proves the payment"
    # Paid Wednesday 21 Jan: Thu, Fri, (weekend), Mon, Tue -> 27 Jan.
    assert answer.text("PerkiraanSelesai") == "2026-01-27"


async def test_a_printed_passport_has_a_number_a_validity_and_a_pickup_deadline(sim: Sim) -> None:
    nomor = await sim.submit(jenis_paspor="PASPOR_BIASA_ELEKTRONIK", masa_berlaku="10")

    ready = await sim.poll_until(nomor, "SIAP_DIAMBIL")
    done = await sim.poll_until(nomor, "SELESAI")

    number = ready.text("Paspor/NomorPaspor") or ""
    assert number[0] == "E" and len(number) == 8 and number[1:].isdigit()
    assert ready.text("Paspor/TanggalTerbit") == "2026-01-27"
    assert ready.text("Paspor/TanggalHabisBerlaku") == "2036-01-27"
    assert ready.text("Paspor/BatasPengambilan") == "2026-02-26", "collect within 30 days"
    assert ready.text("Paspor/TanggalDiambil") is None
    assert done.text("Paspor/NomorPaspor") == number
    assert done.text("Paspor/TanggalDiambil") == "2026-01-27"
    assert done.text("Tagihan/NTPN") == ready.text("Tagihan/NTPN")


async def test_a_non_electronic_passport_number_starts_with_x(sim: Sim) -> None:
    nomor = await sim.submit(jenis_paspor="PASPOR_BIASA_NON_ELEKTRONIK", masa_berlaku="5")
    ready = await sim.poll_until(nomor, "SIAP_DIAMBIL")
    assert (ready.text("Paspor/NomorPaspor") or "").startswith("X")
    assert ready.text("Paspor/TanggalHabisBerlaku") == "2031-01-27"


async def test_a_replacement_carries_the_old_passport_number_to_the_end(sim: Sim) -> None:
    nomor = await sim.submit(jenis_permohonan="PENGGANTIAN", paspor_lama="X1234567")

    done = await sim.poll_until(nomor, "SELESAI")

    assert done.text("JenisPermohonan") == "PENGGANTIAN"
    assert done.text("NomorPasporLama") == "X1234567"


# --- business rules -----------------------------------------------------------


async def test_an_old_passport_missing_from_the_register_is_refused_and_nothing_is_recorded(sim: Sim) -> None:
    refused = await sim.ajukan(key="k-1", jenis_permohonan="PENGGANTIAN", paspor_lama="X0123456")

    assert refused.response.status_code == 500
    assert refused.fault == ("soap:Client", "PASPOR_LAMA_TIDAK_TERDAFTAR")
    assert (await sim.ledger())["applied"] == 0
    corrected = await sim.ajukan(key="k-1", jenis_permohonan="PENGGANTIAN", paspor_lama="X7654321")
    assert corrected.status == "DITERIMA", "a refusal is not recorded, so the key can still apply"


async def test_a_replacement_without_the_old_passport_number_is_an_invalid_request(sim: Sim) -> None:
    answer = await sim.ajukan(jenis_permohonan="PENGGANTIAN")
    assert answer.fault == ("soap:Client", "PERMINTAAN_TIDAK_VALID")


async def test_an_applicant_on_the_prevention_list_is_refused_after_the_interview(sim: Sim) -> None:
    nomor = await sim.submit(nik="1375010101900099")

    seen = [await sim.cek(nomor) for _ in range(4)]

    assert [a.status for a in seen] == ["DITERIMA", "DITOLAK", "DITOLAK", "DITOLAK"]
    assert seen[1].text("KodeAlasan") == "CEKAL"
    assert "pencegahan" in (seen[1].text("Alasan") or "")
    assert seen[1].text("Tagihan/KodeBilling") is None, "refused before any billing"


NIK_AKTA_TIDAK_SESUAI = "1375015203900098"  # ends in 98: the birth certificate does not match


async def test_a_birth_certificate_not_matching_the_nik_is_returned_at_the_interview_and_waits(sim: Sim) -> None:
    nomor = await sim.submit(nik=NIK_AKTA_TIDAK_SESUAI)

    seen = [await sim.cek(nomor) for _ in range(6)]

    assert [a.status for a in seen] == [
        "DITERIMA",
        "BERKAS_DIKEMBALIKAN",
        "BERKAS_DIKEMBALIKAN",
        "BERKAS_DIKEMBALIKAN",
        "BERKAS_DIKEMBALIKAN",
        "BERKAS_DIKEMBALIKAN",
    ]
    returned = seen[1]
    assert returned.text("KodeAlasan") == "DOKUMEN_TIDAK_SESUAI"
    assert returned.text("DokumenDikembalikan") == "AKTA_KELAHIRAN"
    assert "AKTA_KELAHIRAN" in (returned.text("Alasan") or "")
    assert "Berkas dikembalikan" in (returned.text("Keterangan") or "")
    assert returned.text("Tagihan/KodeBilling") is None, "returned before any billing"


@pytest.mark.parametrize("dokumen", ["BUKU_NIKAH", "IJAZAH"])
async def test_the_same_applicant_with_another_document_goes_through(sim: Sim, dokumen: str) -> None:
    nomor = await sim.submit(key="corrected", nik=NIK_AKTA_TIDAK_SESUAI, dokumen=dokumen)
    assert (await sim.poll_until(nomor, "SELESAI")).status == "SELESAI"


async def test_the_return_documents_knob_returns_applications_submitted_while_it_is_on(sim: Sim) -> None:
    await sim.knobs(return_documents=True)
    returned = await sim.submit(key="returned", dokumen="IJAZAH")
    await sim.knobs(return_documents=False)
    normal = await sim.submit(key="normal")

    assert (await sim.poll_until(returned, "BERKAS_DIKEMBALIKAN")).text("DokumenDikembalikan") == "IJAZAH"
    assert (await sim.poll_until(normal, "SELESAI")).status == "SELESAI"


async def test_the_prevention_list_is_checked_before_the_documents(sim: Sim) -> None:
    nomor = await sim.submit(nik="1375010101900099")
    await sim.knobs(return_documents=True)
    assert (await sim.poll_until(nomor, "DITOLAK")).text("KodeAlasan") == "CEKAL"


async def test_names_that_cannot_be_printed_in_a_passport_are_refused_by_the_schema(sim: Sim) -> None:
    answer = await sim.ajukan(nama="Warga Uji 2")

    assert answer.fault == ("soap:Client", "PERMINTAAN_TIDAK_VALID")
    assert "NamaLengkap" in answer.message
    assert (await sim.ledger())["applied"] == 0


async def test_unpaid_billing_expires_for_applications_submitted_while_the_knob_is_on(sim: Sim) -> None:
    await sim.knobs(unpaid=True)
    unpaid = await sim.submit(key="unpaid")
    await sim.knobs(unpaid=False)
    paid = await sim.submit(key="paid")

    seen = [(await sim.cek(unpaid)).status for _ in range(6)]
    expired = await sim.cek(unpaid)

    assert seen == ["DITERIMA", "MENUNGGU_PEMBAYARAN", "MENUNGGU_PEMBAYARAN", "KEDALUWARSA", "KEDALUWARSA", "KEDALUWARSA"]
    assert expired.text("KodeAlasan") == "BILLING_KEDALUWARSA"
    assert expired.text("Tagihan/KodeBilling") is not None and expired.text("Tagihan/NTPN") is None
    assert (await sim.poll_until(paid, "SELESAI")).status == "SELESAI"


async def test_an_uncollected_passport_expires_after_the_pickup_stage(sim: Sim) -> None:
    await sim.knobs(uncollected=True)
    nomor = await sim.submit()

    expired = await sim.poll_until(nomor, "KEDALUWARSA")

    assert expired.text("KodeAlasan") == "TIDAK_DIAMBIL"
    assert expired.text("Paspor/NomorPaspor") is not None and expired.text("Paspor/TanggalDiambil") is None


async def test_forced_status_reports_a_status_word_the_adapter_has_never_seen(sim: Sim) -> None:
    nomor = await sim.submit()
    await sim.knobs(forced_status="DITANGGUHKAN")

    assert (await sim.cek(nomor)).status == "DITANGGUHKAN"
    await sim.knobs(forced_status=None)
    assert (await sim.cek(nomor)).status == "MENUNGGU_PEMBAYARAN"


async def test_status_of_an_unknown_application_is_a_client_fault(sim: Sim) -> None:
    answer = await sim.cek("AGM-20260114-999999")
    assert answer.response.status_code == 500
    assert answer.fault == ("soap:Client", "PERMOHONAN_TIDAK_DITEMUKAN")


# --- BatalkanPermohonan ------------------------------------------------------


async def test_an_application_not_yet_paid_is_cancelled_and_stays_cancelled(sim: Sim) -> None:
    nomor = await sim.submit(key="k1")
    await sim.cek(nomor)
    waiting = await sim.cek(nomor)
    assert waiting.status == "MENUNGGU_PEMBAYARAN"

    cancelled = await sim.batal("k1", nomor)

    assert cancelled.response.status_code == 200
    assert cancelled.body.tag == f"{{{PAS}}}BatalkanPermohonanResponse"
    assert (cancelled.status, cancelled.text("NomorPermohonan")) == ("DIBATALKAN", nomor)
    assert "dibatalkan" in (cancelled.text("Keterangan") or "")
    assert cancelled.text("Tagihan/KodeBilling") == waiting.text("Tagihan/KodeBilling") and cancelled.text("Tagihan/NTPN") is None
    assert [(await sim.cek(nomor)).status for _ in range(4)] == ["DIBATALKAN"] * 4
    assert (await sim.batal("k1")).status == "DIBATALKAN", "cancelling again answers the same"


async def test_a_received_application_can_be_cancelled_by_its_id_transaksi_alone(sim: Sim) -> None:
    nomor = await sim.submit(key="k2")
    assert (await sim.batal("k2")).status == "DIBATALKAN"
    assert (await sim.cek(nomor)).status == "DIBATALKAN"


async def test_an_application_with_returned_documents_can_be_withdrawn(sim: Sim) -> None:
    nomor = await sim.submit(key="k3", nik=NIK_AKTA_TIDAK_SESUAI)
    await sim.poll_until(nomor, "BERKAS_DIKEMBALIKAN")
    assert (await sim.batal("k3")).status == "DIBATALKAN"


@pytest.mark.parametrize("stage", ["DIPROSES", "SIAP_DIAMBIL", "SELESAI"])
async def test_after_payment_the_service_does_not_cancel_and_answers_the_current_status(sim: Sim, stage: str) -> None:
    nomor = await sim.submit(key="paid")
    before = await sim.poll_until(nomor, stage)

    answer = await sim.batal("paid", nomor)

    assert answer.response.status_code == 200 and answer.fault is None, "not a fault: the status as it is"
    assert answer.status == stage
    assert answer.text("Tagihan/NTPN") == before.text("Tagihan/NTPN")
    if stage != "SELESAI":
        assert "tidak dapat dibatalkan" in (answer.text("Keterangan") or "")


async def test_cancelling_is_not_a_poll_and_does_not_advance_the_application(sim: Sim) -> None:
    nomor = await sim.submit(key="paid")
    await sim.poll_until(nomor, "DIPROSES")  # first of polls_per_stage=2 polls in DIPROSES
    for _ in range(3):
        assert (await sim.batal("paid")).status == "DIPROSES"
    assert (await sim.cek(nomor)).status == "DIPROSES", "still the second poll of the stage"


async def test_cancelling_an_unknown_id_transaksi_is_a_fault_and_closes_the_id(sim: Sim) -> None:
    unknown = await sim.batal("late-step")
    assert unknown.fault == ("soap:Client", "PERMOHONAN_TIDAK_DITEMUKAN")

    late = await sim.ajukan(key="late-step")

    assert late.fault == ("soap:Client", "ID_TRANSAKSI_SUDAH_DIPAKAI")
    assert "dibatalkan" in late.message
    ledger = await sim.ledger()
    assert [(e["key"], e["operation"]) for e in ledger["entries"]] == [("late-step", "BATAL_SEBELUM_DIAJUKAN")]
    assert (await sim.batal("late-step")).fault == ("soap:Client", "PERMOHONAN_TIDAK_DITEMUKAN")


async def test_cancel_with_another_applications_number_is_an_invalid_request(sim: Sim) -> None:
    await sim.submit(key="a")
    other = await sim.submit(key="b")
    answer = await sim.batal("a", other)
    assert answer.fault == ("soap:Client", "PERMINTAAN_TIDAK_VALID")
    assert (await sim.cek(other)).status == "DITERIMA", "nothing was cancelled"


async def test_a_dropped_cancel_reply_was_applied_and_the_retry_answers_the_same(sim: Sim) -> None:
    nomor = await sim.submit(key="k")
    await sim.knobs(drop_reply_after_apply=1.0)
    dropped = await sim.post("BatalkanPermohonan", batal_xml("k"))
    await sim.knobs(drop_reply_after_apply=0.0)

    assert dropped.status_code == 504
    assert (await sim.batal("k")).status == "DIBATALKAN"
    assert (await sim.cek(nomor)).status == "DIBATALKAN"


async def test_cancel_while_down_is_a_server_fault_and_changes_nothing(sim: Sim) -> None:
    nomor = await sim.submit(key="k")
    await sim.knobs(down=True)
    down = await sim.batal("k")
    await sim.knobs(down=False)
    assert down.fault == ("soap:Server", "SISTEM_TIDAK_TERSEDIA")
    assert (await sim.cek(nomor)).status == "DITERIMA"


# --- idempotency --------------------------------------------------------------


async def test_the_same_id_transaksi_and_body_is_applied_once_and_replayed_byte_for_byte(sim: Sim) -> None:
    first = await sim.post("AjukanPermohonan", ajukan_xml("step-42"))
    # Same content, other whitespace and namespace prefix: the same request after parsing.
    spaced = ajukan_xml("step-42").replace("xmlns:pas=", "xmlns:p=").replace("pas:", "p:").replace("><", ">\n  <")
    second = await sim.post("AjukanPermohonan", spaced)

    assert second.status_code == 200 and second.content == first.content
    ledger = await sim.ledger()
    assert ledger["applied"] == 1 and ledger["replayed"] == 1
    [entry] = ledger["entries"]
    assert entry["key"] == "step-42" and entry["operation"] == "AjukanPermohonan"
    assert NIK not in str(entry), "the ledger view holds no personal data"


async def test_the_same_id_transaksi_with_another_body_is_a_conflict(sim: Sim) -> None:
    await sim.ajukan(key="step-7", masa_berlaku="10")

    conflict = await sim.ajukan(key="step-7", masa_berlaku="5")

    assert conflict.fault == ("soap:Client", "ID_TRANSAKSI_SUDAH_DIPAKAI")
    assert (await sim.ledger())["applied"] == 1


async def test_polls_are_recorded_as_progress_of_the_application_not_as_applications(sim: Sim) -> None:
    nomor = await sim.submit(key="step-9")
    for _ in range(3):
        await sim.cek(nomor)

    ledger = await sim.ledger()

    assert ledger["applied"] == 1
    assert ledger["entries"][0]["state"]["tahap"] == "MENUNGGU_PEMBAYARAN"
    assert ledger["entries"][0]["state"]["total_cek"] == 3


async def test_applications_and_their_progress_survive_a_restart_with_a_ledger_file(tmp_path: Path) -> None:
    ledger = str(tmp_path / "imigrasi.db")
    async with imigrasi(ledger_path=ledger) as before:
        nomor = await before.submit(key="step-1")
        await before.poll_until(nomor, "MENUNGGU_PEMBAYARAN")
    async with imigrasi(ledger_path=ledger) as after:
        assert (await after.cek(nomor)).status == "MENUNGGU_PEMBAYARAN"
        assert (await after.cek(nomor)).status == "DIPROSES"
        replay = await after.ajukan(key="step-1")
        assert replay.text("NomorPermohonan") == nomor


# --- protocol errors ----------------------------------------------------------


async def test_faults_are_soap_1_1_faults_with_http_500_and_the_service_detail(sim: Sim) -> None:
    response = await sim.post("CekStatusPermohonan", cek_xml("AGM-20260114-000404"))

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    assert [child.tag for child in fault] == ["faultcode", "faultstring", "detail"], "unqualified, as SOAP 1.1 defines them"
    assert fault.findtext("faultcode") == "soap:Client"
    assert "AGM-20260114-000404" in (fault.findtext("faultstring") or "")
    assert response.text.count(f'xmlns:soap="{SOAP}"') == 1, "the soap prefix of the faultcode is declared"


@pytest.mark.parametrize(
    ("body", "operation"),
    [
        ("not xml at all", "AjukanPermohonan"),
        ('{"IdTransaksi": "x"}', "AjukanPermohonan"),
        (f'<pas:AjukanPermohonan xmlns:pas="{PAS}"/>', "AjukanPermohonan"),
        (f'<Envelope xmlns="{SOAP}"><Header/></Envelope>', "AjukanPermohonan"),
        (ajukan_xml(masa_berlaku="7"), "AjukanPermohonan"),
        (ajukan_xml(jenis_paspor="PASPOR_DIPLOMATIK"), "AjukanPermohonan"),
        (ajukan_xml(tanggal="15-01-2026"), "AjukanPermohonan"),
        (ajukan_xml(extra="<pas:Catatan>tolong cepat</pas:Catatan>"), "AjukanPermohonan"),
        (ajukan_xml(extra="<Catatan>tanpa namespace</Catatan>"), "AjukanPermohonan"),
        (ajukan_xml().replace("<pas:IdTransaksi>step-1</pas:IdTransaksi>", ""), "AjukanPermohonan"),
        (ajukan_xml(), "CekStatusPermohonan"),
    ],
    ids=[
        "not xml",
        "json",
        "no envelope",
        "envelope without body",
        "validity of 7 years",
        "unknown passport type",
        "date not iso",
        "unknown element",
        "unqualified element",
        "no IdTransaksi",
        "SOAPAction of another operation",
    ],
)
async def test_malformed_requests_are_client_faults(sim: Sim, body: str, operation: str) -> None:
    answer = Answer(await sim.post(operation, body))

    assert answer.response.status_code == 500
    assert answer.fault == ("soap:Client", "PERMINTAAN_TIDAK_VALID")
    assert (await sim.ledger())["applied"] == 0


async def test_entity_expansion_is_refused_not_expanded(sim: Sim) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        + ajukan_xml(nama="&b;").split("?>", 1)[1]
    )
    answer = Answer(await sim.post("AjukanPermohonan", bomb))
    assert answer.fault == ("soap:Client", "PERMINTAAN_TIDAK_VALID")


async def test_an_operation_the_service_does_not_have_is_a_client_fault(sim: Sim) -> None:
    answer = Answer(
        await sim.post("UbahJadwalKedatangan", envelope("UbahJadwalKedatangan", "<pas:NomorPermohonan>X</pas:NomorPermohonan>"))
    )
    assert answer.fault == ("soap:Client", "OPERASI_TIDAK_DIKENAL")


async def test_a_missing_soap_action_is_a_client_fault(sim: Sim) -> None:
    response = await sim.client.post(PATH, content=ajukan_xml().encode(), headers={"Content-Type": "text/xml"})
    assert Answer(response).fault == ("soap:Client", "PERMINTAAN_TIDAK_VALID")


# --- knobs --------------------------------------------------------------------


async def test_down_is_a_server_fault_and_applies_nothing(sim: Sim) -> None:
    await sim.knobs(down=True)

    answer = await sim.ajukan()

    assert answer.response.status_code == 500
    assert answer.fault == ("soap:Server", "SISTEM_TIDAK_TERSEDIA")
    assert (await sim.ledger())["applied"] == 0


async def test_error_rate_is_a_busy_server_fault_with_a_retry_hint(sim: Sim) -> None:
    nomor = await sim.submit()
    await sim.knobs(error_rate=1.0)

    busy = await sim.cek(nomor)

    assert busy.fault == ("soap:Server", "SISTEM_SIBUK")
    assert busy.body.findtext(f"detail/{{{PAS}}}GalatLayanan/{{{PAS}}}DetikCobaLagi") == "1"
    await sim.knobs(error_rate=0.0)
    assert (await sim.cek(nomor)).status == "DITERIMA", "a refused poll did not count"


async def test_latency_delays_every_answer() -> None:
    async with imigrasi(ImigrasiKnobs(latency_ms=200)) as sim:
        started = time.monotonic()
        await sim.ajukan()
        assert time.monotonic() - started >= 0.2


async def test_a_dropped_reply_was_applied_and_the_retry_gets_the_stored_answer(sim: Sim) -> None:
    await sim.knobs(drop_reply_after_apply=1.0)

    lost = await sim.post("AjukanPermohonan", ajukan_xml("step-5"))
    retry = Answer(await sim.post("AjukanPermohonan", ajukan_xml("step-5")))

    assert lost.status_code == 504 and "Gateway" in lost.text
    assert retry.response.status_code == 200 and retry.status == "DITERIMA", "a replay is never dropped"
    assert (await sim.ledger())["applied"] == 1


async def test_a_dropped_poll_reply_still_counted_the_poll() -> None:
    async with imigrasi(ImigrasiKnobs(polls_per_stage=1)) as sim:
        nomor = await sim.submit()
        await sim.knobs(drop_reply_after_apply=1.0)
        assert (await sim.post("CekStatusPermohonan", cek_xml(nomor))).status_code == 504
        await sim.knobs(drop_reply_after_apply=0.0)
        assert (await sim.cek(nomor)).status == "DIPROSES", "the lost poll moved it to MENUNGGU_PEMBAYARAN"


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
async def test_garbled_answers_are_http_200_but_not_soap_and_the_work_was_done(seed: int) -> None:
    async with imigrasi(ImigrasiKnobs(garble_rate=1.0, seed=seed)) as sim:
        response = await sim.post("AjukanPermohonan", ajukan_xml())
        assert response.status_code == 200
        assert not is_soap_envelope(response.content)
        assert (await sim.ledger())["applied"] == 1


async def test_daily_quota_counts_applicants_per_service_day(sim: Sim) -> None:
    await sim.knobs(daily_quota=2)
    await sim.submit(key="a", tanggal="2026-01-21")
    await sim.submit(key="b", tanggal="2026-01-20")  # also lands on Wednesday 21 Jan

    full = await sim.ajukan(key="c", tanggal="2026-01-21")
    other_day = await sim.ajukan(key="d", tanggal="2026-01-28")
    replay = await sim.ajukan(key="a", tanggal="2026-01-21")

    assert full.fault == ("soap:Client", "KUOTA_HABIS")
    assert "2026-01-21" in full.message
    assert other_day.status == "DITERIMA"
    assert replay.status == "DITERIMA", "an applied key replays even when the day is full"
    assert (await sim.ledger())["applied"] == 3


async def test_imigrasi_knobs_are_listed_and_validated(sim: Sim) -> None:
    knobs = (await sim.client.get("/_sim/knobs")).json()
    assert {
        "polls_per_stage": 2,
        "unpaid": False,
        "uncollected": False,
        "return_documents": False,
        "forced_status": None,
    }.items() <= knobs.items()
    assert (await sim.knobs(polls_per_stage=0)).status_code == 422
    assert (await sim.knobs(unpiad=True)).status_code == 422, "a typo fails loudly"
