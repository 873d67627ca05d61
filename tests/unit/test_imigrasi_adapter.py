"""Specification of the Imigrasi adapter (adapters/imigrasi/adapter.py).

Most tests replace the passport service with the SDK's recording transport that answers
literal SOAP XML, so each test states what Imigrasi says and what canonical outcome
the adapter must make of it. The last ones run the adapter against the simulator
(``httpx.ASGITransport``) through a whole application. Whatever Imigrasi says, the
adapter returns a report or raises one of the SDK's outcome errors; it never crashes
with anything else.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from adapters.imigrasi import plugin as imigrasi_plugin
from adapters.imigrasi.adapter import STATUS_MAP, ImigrasiAdapter, ImigrasiSettings
from adapters.imigrasi.native import StatusPermohonan
from adapters.imigrasi.simulator import ImigrasiKnobs, create_app
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, Capability, TransientBackendError
from adapters.sdk.base import BackendStyle
from adapters.sdk.testing.client import execute_twice
from adapters.sdk.testing.recording import Handler, RecordedAdapters, RecordingTransport, fail_with, recorded_adapters
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand
from schemas.services.imigrasi import PassportNewOutput, PassportRenewalOutput
from support.samples import NIK, STEP_ID

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PAS = "http://ws.imigrasi.go.id/simkim/paspor/v1"
NOMOR = "AGM-20260114-000123"


def command(operation: str = "passport_new", **data: Any) -> StepCommand:
    base: dict[str, Any] = {
        "passport_type": "electronic",
        "validity_years": 10,
        "appointment_date": "2026-01-15",
        "supporting_document": "birth_certificate",
    }
    if operation == "passport_renewal":
        base["old_passport_number"] = "x 1234567"
    return StepCommand(
        service=f"imigrasi.{operation}", operation=operation, applicant=Applicant(nik=NIK, name=" Siti Rahmah "), data={**base, **data}
    )


def envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><S:Envelope xmlns:S="{SOAP}" xmlns:ns2="{PAS}"><S:Body>{body}</S:Body></S:Envelope>'
    ).encode()


def xml(status: int, body: str) -> httpx.Response:
    return httpx.Response(status, content=envelope(body), headers={"Content-Type": "text/xml; charset=utf-8"})


def accepted_xml(nomor: str = NOMOR, status: str = "DITERIMA") -> str:
    return (
        "<ns2:AjukanPermohonanResponse>"
        f"<ns2:NomorPermohonan>{nomor}</ns2:NomorPermohonan><ns2:Status>{status}</ns2:Status>"
        "<ns2:TanggalPermohonan>2026-01-14</ns2:TanggalPermohonan><ns2:JadwalKedatangan>2026-01-21</ns2:JadwalKedatangan>"
        "<ns2:KantorImigrasi>Kantor Imigrasi Kelas II Non TPI Agam</ns2:KantorImigrasi>"
        "<ns2:LokasiLayanan>Mal Pelayanan Publik Kota Bukittinggi</ns2:LokasiLayanan>"
        "</ns2:AjukanPermohonanResponse>"
    )


TAGIHAN = (
    "<ns2:Tagihan><ns2:KodeBilling>820260121000123</ns2:KodeBilling><ns2:JumlahTagihan>950000</ns2:JumlahTagihan>"
    "<ns2:BatasPembayaran>2026-01-28</ns2:BatasPembayaran>{paid}</ns2:Tagihan>"
)
PAID = "<ns2:TanggalBayar>2026-01-21</ns2:TanggalBayar><ns2:NTPN>0A1B2C3D4E5F6789</ns2:NTPN>"
PASPOR = (
    "<ns2:Paspor><ns2:NomorPaspor>E1234567</ns2:NomorPaspor><ns2:JenisPaspor>PASPOR_BIASA_ELEKTRONIK</ns2:JenisPaspor>"
    "<ns2:MasaBerlaku>10</ns2:MasaBerlaku><ns2:TanggalTerbit>2026-01-27</ns2:TanggalTerbit>"
    "<ns2:TanggalHabisBerlaku>2036-01-27</ns2:TanggalHabisBerlaku><ns2:BatasPengambilan>2026-02-26</ns2:BatasPengambilan>"
    "{taken}</ns2:Paspor>"
)

#: What each native status carries, as the service documents it.
SECTIONS: dict[str, str] = {
    "DITERIMA": "",
    "MENUNGGU_PEMBAYARAN": TAGIHAN.format(paid=""),
    "DIPROSES": TAGIHAN.format(paid=PAID) + "<ns2:PerkiraanSelesai>2026-01-27</ns2:PerkiraanSelesai>",
    "SIAP_DIAMBIL": TAGIHAN.format(paid=PAID) + PASPOR.format(taken=""),
    "SELESAI": TAGIHAN.format(paid=PAID) + PASPOR.format(taken="<ns2:TanggalDiambil>2026-01-27</ns2:TanggalDiambil>"),
    "DITOLAK": "<ns2:KodeAlasan>CEKAL</ns2:KodeAlasan><ns2:Alasan>Pemohon tercantum dalam daftar pencegahan.</ns2:Alasan>",
    "KEDALUWARSA": TAGIHAN.format(paid="") + "<ns2:KodeAlasan>BILLING_KEDALUWARSA</ns2:KodeAlasan><ns2:Alasan>Tidak dibayar.</ns2:Alasan>",
    "BERKAS_DIKEMBALIKAN": (
        "<ns2:KodeAlasan>DOKUMEN_TIDAK_SESUAI</ns2:KodeAlasan><ns2:Alasan>Data akta kelahiran tidak sesuai data kependudukan.</ns2:Alasan>"
        "<ns2:DokumenDikembalikan>AKTA_KELAHIRAN</ns2:DokumenDikembalikan>"
    ),
    "DIBATALKAN": "",
}


def status_xml(status: str, *, sections: str | None = None, nomor: str = NOMOR, jenis: str = "BARU", lama: str = "") -> str:
    return (
        "<ns2:CekStatusPermohonanResponse>"
        f"<ns2:NomorPermohonan>{nomor}</ns2:NomorPermohonan><ns2:Status>{status}</ns2:Status>"
        f"<ns2:Keterangan>keterangan</ns2:Keterangan><ns2:JenisPermohonan>{jenis}</ns2:JenisPermohonan>"
        f"<ns2:JadwalKedatangan>2026-01-21</ns2:JadwalKedatangan>{lama}"
        f"{SECTIONS.get(status, '') if sections is None else sections}"
        "</ns2:CekStatusPermohonanResponse>"
    )


def fault(code: str, kode: str | None = None, pesan: str = "pesan", detik: str | None = None) -> str:
    detail = ""
    if kode is not None:
        retry = f"<ns2:DetikCobaLagi>{detik}</ns2:DetikCobaLagi>" if detik else ""
        detail = f"<detail><ns2:GalatLayanan><ns2:KodeGalat>{kode}</ns2:KodeGalat><ns2:Pesan>{pesan}</ns2:Pesan>{retry}</ns2:GalatLayanan></detail>"
    return f"<S:Fault><faultcode>{code}</faultcode><faultstring>{pesan}</faultstring>{detail}</S:Fault>"


class SoapBackend(RecordingTransport):
    """The recording transport, reading back the SOAP the adapter sent."""

    def sent(self, index: int = -1) -> ET.Element:
        """The body element of a request the adapter sent."""
        root = ET.fromstring(self.requests[index].content)
        assert root.tag == f"{{{SOAP}}}Envelope"
        (body,) = list(root.find(f"{{{SOAP}}}Body"))  # type: ignore[arg-type]
        return body


def field(element: ET.Element, path: str) -> str | None:
    return element.findtext("/".join(f"{{{PAS}}}{p}" for p in path.split("/")))


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[ImigrasiAdapter, SoapBackend]]:
    def build(transport: SoapBackend, **settings: Any) -> ImigrasiAdapter:
        return ImigrasiAdapter(
            BackendSettings.model_validate({"base_url": "http://imigrasi.test", "timeout_seconds": 0.5, **settings}), transport=transport
        )

    async with recorded_adapters(build, SoapBackend) as make:
        yield make


def answering(body: str, status: int = 200) -> Handler:
    return lambda _request: xml(status, body)


# --- what the adapter declares and sends ------------------------------------------


def test_it_is_a_polling_adapter_for_the_passport_operations_that_can_cancel() -> None:
    assert ImigrasiAdapter.agency == "imigrasi"
    assert ImigrasiAdapter.style is BackendStyle.POLLING
    assert ImigrasiAdapter.operations == {"passport_new", "passport_renewal", "passport_lost_damaged", "passport_migrant_worker"}
    assert ImigrasiAdapter.capabilities == {Capability.POLL, Capability.CANCEL}


async def test_submission_is_a_soap_call_with_the_step_id_as_id_transaksi(make_adapter: Any) -> None:
    adapter, backend = make_adapter(answering(accepted_xml()))

    await adapter.execute(command(), STEP_ID)

    [request] = backend.requests
    assert (request.method, request.url.path) == ("POST", "/ws/PasporService")
    assert request.headers["Content-Type"].startswith("text/xml")
    assert request.headers["SOAPAction"] == f'"{PAS}/AjukanPermohonan"'
    body = backend.sent()
    assert body.tag == f"{{{PAS}}}AjukanPermohonan"
    assert field(body, "IdTransaksi") == str(STEP_ID), "the step id is Imigrasi's idempotency key"
    assert field(body, "JenisPermohonan") == "BARU"
    assert field(body, "Pemohon/NIK") == NIK
    assert field(body, "Pemohon/NamaLengkap") == "Siti Rahmah"
    assert field(body, "JenisPaspor") == "PASPOR_BIASA_ELEKTRONIK"
    assert field(body, "MasaBerlaku") == "10"
    assert field(body, "TanggalKedatanganDiinginkan") == "2026-01-15"
    assert field(body, "DokumenPendukung") == "AKTA_KELAHIRAN"
    assert field(body, "NomorPasporLama") is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"passport_type": "non_electronic", "supporting_document": "marriage_book"}, ("PASPOR_BIASA_NON_ELEKTRONIK", "BUKU_NIKAH")),
        ({"passport_type": "electronic", "supporting_document": "diploma"}, ("PASPOR_BIASA_ELEKTRONIK", "IJAZAH")),
    ],
)
async def test_canonical_choices_become_native_codes(make_adapter: Any, data: dict[str, str], expected: tuple[str, str]) -> None:
    adapter, backend = make_adapter(answering(accepted_xml()))
    await adapter.execute(command(**data), STEP_ID)
    assert (field(backend.sent(), "JenisPaspor"), field(backend.sent(), "DokumenPendukung")) == expected


async def test_a_renewal_is_a_penggantian_with_the_normalised_old_passport_number(make_adapter: Any) -> None:
    adapter, backend = make_adapter(answering(accepted_xml()))

    await adapter.execute(command("passport_renewal"), STEP_ID)

    assert field(backend.sent(), "JenisPermohonan") == "PENGGANTIAN"
    assert field(backend.sent(), "NomorPasporLama") == "X1234567"


async def test_polling_asks_for_the_application_by_its_number(make_adapter: Any) -> None:
    adapter, backend = make_adapter(answering(status_xml("DITERIMA")))

    await adapter.poll(command(), STEP_ID, NOMOR)

    assert backend.requests[0].headers["SOAPAction"] == f'"{PAS}/CekStatusPermohonan"'
    assert backend.sent().tag == f"{{{PAS}}}CekStatusPermohonan"
    assert field(backend.sent(), "NomorPermohonan") == NOMOR


async def test_invalid_step_input_never_reaches_imigrasi(make_adapter: Any) -> None:
    adapter, backend = make_adapter(answering(accepted_xml()))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(validity_years=7), STEP_ID)

    assert caught.value.code == "invalid_step_input"
    assert backend.requests == []


async def test_the_full_nik_is_never_logged(make_adapter: Any, caplog: pytest.LogCaptureFixture) -> None:
    adapter, _ = make_adapter(answering(accepted_xml()))
    with caplog.at_level(logging.DEBUG, logger="adapters.imigrasi"):
        await adapter.execute(command(), STEP_ID)
    assert caplog.records, "the submission is logged"
    assert NIK not in caplog.text and "1375**********07" in caplog.text


# --- translation of answers -----------------------------------------------------------


async def test_submission_is_accepted_with_the_application_number_to_poll_with(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(accepted_xml()), poll_interval_seconds="12.5")

    report = await adapter.execute(command(), STEP_ID)

    assert report.status is Status.ACCEPTED
    assert report.agency_ref == NOMOR
    assert report.agency_status == "DITERIMA"
    assert report.poll_after_seconds == 12.5
    assert report.outputs == {"application_number": NOMOR, "appointment_date": "2026-01-21"}


def test_every_native_status_has_a_canonical_one_of_its_own() -> None:
    """One to one, read from the hub's side: the passport service's word for each canonical status."""
    assert set(STATUS_MAP) == set(StatusPermohonan)
    native_of = {canonical: native.value for native, canonical in STATUS_MAP.items()}
    assert native_of == {
        Status.ACCEPTED: "DITERIMA",
        Status.AWAITING_PAYMENT: "MENUNGGU_PEMBAYARAN",
        Status.IN_PROCESS: "DIPROSES",
        Status.READY_FOR_PICKUP: "SIAP_DIAMBIL",
        Status.COMPLETED: "SELESAI",
        Status.REJECTED: "DITOLAK",
        Status.EXPIRED: "KEDALUWARSA",
        Status.NEEDS_REVISION: "BERKAS_DIKEMBALIKAN",
        Status.CANCELLED: "DIBATALKAN",
    }


@pytest.mark.parametrize(
    ("native", "canonical", "outputs"),
    [
        ("DITERIMA", Status.ACCEPTED, {"application_number": NOMOR, "appointment_date": "2026-01-21"}),
        (
            "MENUNGGU_PEMBAYARAN",
            Status.AWAITING_PAYMENT,
            {"application_number": NOMOR, "appointment_date": "2026-01-21", "billing_code": "820260121000123", "amount": 950_000, "pay_before": "2026-01-28"},
        ),
        (
            "DIPROSES",
            Status.IN_PROCESS,
            {
                "application_number": NOMOR, "appointment_date": "2026-01-21", "billing_code": "820260121000123", "amount": 950_000,
                "pay_before": "2026-01-28", "paid_on": "2026-01-21", "ntpn": "0A1B2C3D4E5F6789", "expected_ready_on": "2026-01-27",
            },
        ),
        (
            "SIAP_DIAMBIL",
            Status.READY_FOR_PICKUP,
            {
                "application_number": NOMOR, "appointment_date": "2026-01-21", "billing_code": "820260121000123", "amount": 950_000,
                "pay_before": "2026-01-28", "paid_on": "2026-01-21", "ntpn": "0A1B2C3D4E5F6789", "passport_number": "E1234567",
                "issued_on": "2026-01-27", "expires_on": "2036-01-27", "pickup_before": "2026-02-26",
            },
        ),
    ],
)  # fmt: skip
async def test_progress_statuses_are_mapped_with_cumulative_outputs_and_a_next_poll(
    make_adapter: Any, native: str, canonical: Status, outputs: dict[str, Any]
) -> None:
    adapter, _ = make_adapter(answering(status_xml(native)), poll_interval_seconds=0.3)

    report = await adapter.poll(command(), STEP_ID, NOMOR)

    assert report.status is canonical
    assert report.outputs == outputs
    assert report.agency_status == native
    assert report.agency_ref == NOMOR
    assert report.poll_after_seconds == 0.3
    assert report.error is None


async def test_selesai_completes_with_the_service_output_model_and_no_further_poll(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(status_xml("SELESAI")))

    report = await adapter.poll(command(), STEP_ID, NOMOR)

    assert report.status is Status.COMPLETED
    assert report.poll_after_seconds is None
    output = PassportNewOutput.model_validate(report.outputs)
    assert output.passport_number == "E1234567"
    assert (output.passport_type, output.validity_years) == ("electronic", 10)
    assert (str(output.issued_on), str(output.expires_on), str(output.picked_up_on)) == ("2026-01-27", "2036-01-27", "2026-01-27")
    assert output.amount_paid == 950_000
    assert (output.billing_code, output.ntpn, output.application_number) == ("820260121000123", "0A1B2C3D4E5F6789", NOMOR)


async def test_a_completed_renewal_names_the_passport_it_replaces(make_adapter: Any) -> None:
    body = status_xml("SELESAI", jenis="PENGGANTIAN", lama="<ns2:NomorPasporLama>X1234567</ns2:NomorPasporLama>")
    adapter, _ = make_adapter(answering(body))

    report = await adapter.poll(command("passport_renewal"), STEP_ID, NOMOR)

    assert PassportRenewalOutput.model_validate(report.outputs).replaced_passport_number == "X1234567"


@pytest.mark.parametrize(
    ("native", "sections", "canonical", "code", "agency_code"),
    [
        ("DITOLAK", SECTIONS["DITOLAK"], Status.REJECTED, "travel_ban", "CEKAL"),
        (
            "DITOLAK",
            "<ns2:KodeAlasan>DOKUMEN_TIDAK_SESUAI</ns2:KodeAlasan>",
            Status.REJECTED,
            "documents_inconsistent",
            "DOKUMEN_TIDAK_SESUAI",
        ),
        ("DITOLAK", "<ns2:KodeAlasan>ALASAN_BARU</ns2:KodeAlasan>", Status.REJECTED, "application_refused", "ALASAN_BARU"),
        ("KEDALUWARSA", SECTIONS["KEDALUWARSA"], Status.EXPIRED, "billing_expired", "BILLING_KEDALUWARSA"),
        ("KEDALUWARSA", "<ns2:KodeAlasan>TIDAK_DIAMBIL</ns2:KodeAlasan>", Status.EXPIRED, "not_collected", "TIDAK_DIAMBIL"),
        ("KEDALUWARSA", "", Status.EXPIRED, "application_expired", "KEDALUWARSA"),
    ],
)
async def test_endings_without_a_passport_carry_the_reason(
    make_adapter: Any, native: str, sections: str, canonical: Status, code: str, agency_code: str
) -> None:
    adapter, _ = make_adapter(answering(status_xml(native, sections=sections)))

    report = await adapter.poll(command(), STEP_ID, NOMOR)

    assert report.status is canonical
    assert report.error is not None
    assert (report.error.code, report.error.agency_code) == (code, agency_code)
    assert report.error.message
    assert report.poll_after_seconds is None, "a final status ends the polling"


@pytest.mark.parametrize("call", ["execute", "poll"])
async def test_an_unknown_status_is_an_invalid_answer_with_its_own_reason(make_adapter: Any, call: str) -> None:
    body = accepted_xml(status="DITANGGUHKAN") if call == "execute" else status_xml("DITANGGUHKAN")
    adapter, _ = make_adapter(answering(body))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await (adapter.execute(command(), STEP_ID) if call == "execute" else adapter.poll(command(), STEP_ID, NOMOR))

    assert caught.value.code == "agency_status_unknown"
    assert "DITANGGUHKAN" in caught.value.message


async def test_a_submission_answered_with_another_known_status_is_invalid(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(accepted_xml(status="SELESAI")))
    with pytest.raises(AgencyAnswerInvalid, match="expected DITERIMA"):
        await adapter.execute(command(), STEP_ID)


# --- answers that make no sense ----------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not xml",
        b'{"status": "OK"}',
        b"<html><body><h1>Service Temporarily Unavailable</h1></body></html>",
        envelope(accepted_xml())[:120],
        f'<S:Envelope xmlns:S="{SOAP}"><S:Header/></S:Envelope>'.encode(),
        f'<S:Envelope xmlns:S="{SOAP}"><S:Body/></S:Envelope>'.encode(),
        f"<Envelope><Body>{accepted_xml()}</Body></Envelope>".replace("ns2:", "").encode(),
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    ],
    ids=["empty", "text", "json", "html", "truncated", "no body", "empty body", "no soap namespace", "entity expansion"],
)
async def test_a_body_that_is_not_a_soap_message_is_an_invalid_answer(make_adapter: Any, content: bytes) -> None:
    adapter, _ = make_adapter(lambda _r: httpx.Response(200, content=content))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(), STEP_ID)

    assert caught.value.code == "agency_answer_invalid"
    assert "not a SOAP message" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        accepted_xml().replace(f"<ns2:NomorPermohonan>{NOMOR}</ns2:NomorPermohonan>", ""),
        accepted_xml().replace("2026-01-21", "21/01/2026"),
        accepted_xml(nomor="12345"),
        accepted_xml().replace("</ns2:AjukanPermohonanResponse>", "<ns2:Bonus>1</ns2:Bonus></ns2:AjukanPermohonanResponse>"),
        accepted_xml().replace("</ns2:AjukanPermohonanResponse>", "<Bonus>1</Bonus></ns2:AjukanPermohonanResponse>"),
        accepted_xml().replace("<ns2:Status>DITERIMA</ns2:Status>", "<ns2:Status>DITERIMA</ns2:Status><ns2:Status>DITERIMA</ns2:Status>"),
        status_xml("DITERIMA").replace("CekStatusPermohonanResponse", "AjukanPermohonanResponse"),
        accepted_xml().replace("AjukanPermohonanResponse", "CekStatusPermohonanResponse"),
    ],
    ids=[
        "missing element",
        "bad date",
        "bad application number",
        "unknown element",
        "unqualified element",
        "repeated element",
        "off-schema",
        "answer to another operation",
    ],
)
async def test_a_submission_answer_off_the_schema_is_invalid(make_adapter: Any, body: str) -> None:
    adapter, _ = make_adapter(answering(body))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(), STEP_ID)

    assert caught.value.code == "agency_answer_invalid"


@pytest.mark.parametrize(
    ("native", "sections", "missing"),
    [
        ("MENUNGGU_PEMBAYARAN", "", "Tagihan"),
        ("DIPROSES", TAGIHAN.format(paid=""), "TanggalBayar"),
        ("SIAP_DIAMBIL", TAGIHAN.format(paid=PAID), "Paspor"),
        ("SELESAI", TAGIHAN.format(paid=PAID) + PASPOR.format(taken=""), "TanggalDiambil"),
    ],
)
async def test_a_status_without_what_it_implies_is_invalid(make_adapter: Any, native: str, sections: str, missing: str) -> None:
    adapter, _ = make_adapter(answering(status_xml(native, sections=sections)))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.poll(command(), STEP_ID, NOMOR)

    assert missing in caught.value.message


async def test_a_completed_renewal_without_the_old_passport_number_is_invalid(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(status_xml("SELESAI", jenis="PENGGANTIAN")))
    with pytest.raises(AgencyAnswerInvalid, match="NomorPasporLama"):
        await adapter.poll(command("passport_renewal"), STEP_ID, NOMOR)


async def test_an_answer_about_another_application_is_invalid(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(status_xml("SELESAI", nomor="AGM-20260114-000999")))
    with pytest.raises(AgencyAnswerInvalid, match="AGM-20260114-000999"):
        await adapter.poll(command(), STEP_ID, NOMOR)


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kode", "detik", "retry_after"),
    [("SISTEM_SIBUK", "1", 1.0), ("SISTEM_TIDAK_TERSEDIA", None, None), (None, None, None)],
    ids=["busy", "down", "bare server fault"],
)
async def test_server_faults_are_transient(make_adapter: Any, kode: str | None, detik: str | None, retry_after: float | None) -> None:
    adapter, _ = make_adapter(answering(fault("S:Server", kode, detik=detik), status=500))

    with pytest.raises(TransientBackendError) as caught:
        await adapter.poll(command(), STEP_ID, NOMOR)

    assert caught.value.retry_after == retry_after


@pytest.mark.parametrize(
    ("kode", "code"),
    [("KUOTA_HABIS", "agency_quota_exhausted"), ("PASPOR_LAMA_TIDAK_TERDAFTAR", "old_passport_not_found")],
)
async def test_client_faults_on_the_merits_are_rejections(make_adapter: Any, kode: str, code: str) -> None:
    adapter, _ = make_adapter(answering(fault("S:Client", kode, pesan="Kuota habis untuk 2026-01-21."), status=500))

    with pytest.raises(AgencyRejection) as caught:
        await adapter.execute(command(), STEP_ID)

    assert (caught.value.code, caught.value.agency_code) == (code, kode)
    assert caught.value.message == "Kuota habis untuk 2026-01-21."


@pytest.mark.parametrize("kode", ["PERMINTAAN_TIDAK_VALID", "ID_TRANSAKSI_SUDAH_DIPAKAI", "PERMOHONAN_TIDAK_DITEMUKAN", "KODE_BARU"])
async def test_other_client_faults_fail_the_step_with_the_agencys_reason(make_adapter: Any, kode: str) -> None:
    adapter, _ = make_adapter(answering(fault("S:Client", kode, pesan="NamaLengkap tidak valid"), status=500))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(), STEP_ID)

    assert caught.value.code == "agency_refused_request"
    assert caught.value.agency_code == kode
    assert "NamaLengkap tidak valid" in caught.value.message


async def test_a_fault_is_read_by_its_faultcode_even_with_http_200(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(fault("S:Client", "KUOTA_HABIS"), status=200))
    with pytest.raises(AgencyRejection):
        await adapter.execute(command(), STEP_ID)


async def test_a_fault_with_an_unknown_faultcode_is_invalid(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(fault("S:MustUnderstand"), status=500))
    with pytest.raises(AgencyAnswerInvalid, match="MustUnderstand"):
        await adapter.execute(command(), STEP_ID)


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
async def test_gateway_statuses_are_transient_whatever_the_body(make_adapter: Any, status: int) -> None:
    adapter, _ = make_adapter(lambda _r: httpx.Response(status, text="<html>Gateway</html>", headers={"Retry-After": "2"}))
    with pytest.raises(TransientBackendError) as caught:
        await adapter.execute(command(), STEP_ID)
    assert caught.value.retry_after == 2.0


async def test_a_500_that_is_not_soap_is_transient_but_a_404_is_invalid(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _r: httpx.Response(500, text="<html>Internal Server Error</html>"))
    with pytest.raises(TransientBackendError):
        await adapter.execute(command(), STEP_ID)
    adapter, _ = make_adapter(lambda _r: httpx.Response(404, text="<html>Not Found</html>"))
    with pytest.raises(AgencyAnswerInvalid, match="HTTP 404"):
        await adapter.execute(command(), STEP_ID)


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("reset")],
    ids=["timeout", "connect", "protocol"],
)
async def test_timeouts_and_connection_errors_are_transient(make_adapter: Any, error: Exception) -> None:
    adapter, _ = make_adapter(fail_with(error))
    with pytest.raises(TransientBackendError):
        await adapter.poll(command(), STEP_ID, NOMOR)


# --- settings -------------------------------------------------------------------------


def test_poll_interval_comes_from_the_agency_settings_and_defaults_to_thirty_seconds() -> None:
    default = imigrasi_plugin.adapter(BackendSettings.model_validate({"base_url": "http://imigrasi.test"}))
    configured = imigrasi_plugin.adapter(
        BackendSettings.model_validate({"base_url": "http://imigrasi.test", "poll_interval_seconds": "0.3"})
    )
    assert isinstance(default.settings, ImigrasiSettings) and default.settings.poll_interval_seconds == 30.0
    assert isinstance(configured.settings, ImigrasiSettings) and configured.settings.poll_interval_seconds == 0.3


@pytest.mark.parametrize("value", ["0", "-1", "soon", "100000"])
def test_a_nonsense_poll_interval_is_refused_at_start(value: str) -> None:
    with pytest.raises(AdapterSettingsError, match="MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS is invalid"):
        imigrasi_plugin.adapter(BackendSettings.model_validate({"base_url": "http://imigrasi.test", "poll_interval_seconds": value}))


# --- documents returned (NEEDS_REVISION) -------------------------------------------------


async def test_returned_documents_need_revision_naming_the_document_and_polling_stops(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(status_xml("BERKAS_DIKEMBALIKAN")))

    report = await adapter.poll(command(), STEP_ID, NOMOR)

    assert report.status is Status.NEEDS_REVISION
    assert report.agency_status == "BERKAS_DIKEMBALIKAN"
    assert report.poll_after_seconds is None, "nothing changes at Imigrasi until the applicant applies again"
    assert report.error is not None
    assert (report.error.code, report.error.agency_code) == ("documents_inconsistent", "DOKUMEN_TIDAK_SESUAI")
    assert report.error.message == "correct supporting_document (birth_certificate): Data akta kelahiran tidak sesuai data kependudukan."
    assert report.outputs == {
        "application_number": NOMOR,
        "appointment_date": "2026-01-21",
        "corrections": [
            {"field": "supporting_document", "value": "birth_certificate", "reason": "Data akta kelahiran tidak sesuai data kependudukan."}
        ],
    }


async def test_returned_documents_without_a_reason_code_still_need_revision(make_adapter: Any) -> None:
    sections = "<ns2:DokumenDikembalikan>IJAZAH</ns2:DokumenDikembalikan>"
    adapter, _ = make_adapter(answering(status_xml("BERKAS_DIKEMBALIKAN", sections=sections)))

    report = await adapter.poll(command(), STEP_ID, NOMOR)

    assert report.error is not None
    assert (report.error.code, report.error.agency_code) == ("documents_returned", "BERKAS_DIKEMBALIKAN")
    assert report.error.message == "correct supporting_document (diploma): keterangan"
    assert report.outputs["corrections"][0]["value"] == "diploma"


async def test_returned_documents_without_naming_the_document_is_invalid(make_adapter: Any) -> None:
    sections = "<ns2:KodeAlasan>DOKUMEN_TIDAK_SESUAI</ns2:KodeAlasan>"
    adapter, _ = make_adapter(answering(status_xml("BERKAS_DIKEMBALIKAN", sections=sections)))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.poll(command(), STEP_ID, NOMOR)
    assert caught.value.code == "agency_answer_invalid"
    assert "DokumenDikembalikan" in caught.value.message


async def test_an_application_withdrawn_elsewhere_is_cancelled(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(status_xml("DIBATALKAN")))
    report = await adapter.poll(command(), STEP_ID, NOMOR)
    assert (report.status, report.agency_status, report.poll_after_seconds, report.error) == (Status.CANCELLED, "DIBATALKAN", None, None)
    assert report.outputs == {"application_number": NOMOR, "appointment_date": "2026-01-21"}


# --- cancel ---------------------------------------------------------------------------------


def cancel_xml(status: str) -> str:
    return status_xml(status).replace("CekStatusPermohonanResponse", "BatalkanPermohonanResponse")


async def test_cancel_asks_batalkan_permohonan_with_the_step_id_and_the_application_number(make_adapter: Any) -> None:
    adapter, backend = make_adapter(answering(cancel_xml("DIBATALKAN")))

    report = await adapter.cancel(command(), STEP_ID, NOMOR)

    assert backend.requests[0].headers["SOAPAction"] == f'"{PAS}/BatalkanPermohonan"'
    assert backend.sent().tag == f"{{{PAS}}}BatalkanPermohonan"
    assert field(backend.sent(), "IdTransaksi") == str(STEP_ID)
    assert field(backend.sent(), "NomorPermohonan") == NOMOR
    assert (report.status, report.agency_status, report.agency_ref, report.poll_after_seconds) == (
        Status.CANCELLED,
        "DIBATALKAN",
        NOMOR,
        None,
    )


async def test_cancel_without_an_agency_ref_identifies_the_application_by_the_step_id(make_adapter: Any) -> None:
    adapter, backend = make_adapter(answering(cancel_xml("DIBATALKAN")))
    report = await adapter.cancel(command(), STEP_ID, None)
    assert field(backend.sent(), "NomorPermohonan") is None
    assert report.status is Status.CANCELLED


@pytest.mark.parametrize(
    ("native", "status"),
    [("DIPROSES", Status.IN_PROCESS), ("SIAP_DIAMBIL", Status.READY_FOR_PICKUP), ("SELESAI", Status.COMPLETED)],
)
async def test_after_payment_cancel_reports_the_current_status_not_an_error(make_adapter: Any, native: str, status: Status) -> None:
    adapter, _ = make_adapter(answering(cancel_xml(native)))

    report = await adapter.cancel(command(), STEP_ID, NOMOR)

    assert report.status is status
    assert report.error is None
    assert report.outputs["ntpn"] == "0A1B2C3D4E5F6789", "the current status with its cumulative outputs"
    assert (report.poll_after_seconds is None) == status.is_terminal, "polling goes on while the application is open"


async def test_cancel_of_an_application_imigrasi_never_registered_is_cancelled(make_adapter: Any) -> None:
    adapter, _ = make_adapter(answering(fault("soap:Client", "PERMOHONAN_TIDAK_DITEMUKAN"), status=500))
    report = await adapter.cancel(command(), STEP_ID, None)
    assert (report.status, report.agency_status) == (Status.CANCELLED, "PERMOHONAN_TIDAK_DITEMUKAN")


@pytest.mark.parametrize(
    ("handler", "error", "code"),
    [
        (answering(fault("soap:Server", "SISTEM_SIBUK", detik="1"), status=500), TransientBackendError, None),
        (answering(fault("soap:Client", "PERMINTAAN_TIDAK_VALID"), status=500), AgencyAnswerInvalid, "agency_refused_request"),
        (answering(cancel_xml("DITUNDA")), AgencyAnswerInvalid, "agency_status_unknown"),
        (answering(cancel_xml("DIBATALKAN").replace(NOMOR, "AGM-20260114-000999")), AgencyAnswerInvalid, "agency_answer_invalid"),
        (lambda _r: httpx.Response(200, content=b"<html>maintenance</html>"), AgencyAnswerInvalid, "agency_answer_invalid"),
    ],
    ids=["busy", "client-fault", "unknown-status", "another-application", "not-soap"],
)
async def test_cancel_errors_follow_the_same_contract(
    make_adapter: Any, handler: Handler, error: type[Exception], code: str | None
) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(error) as caught:
        await adapter.cancel(command(), STEP_ID, NOMOR)
    if code is not None:
        assert caught.value.code == code  # type: ignore[attr-defined]


# --- against the simulator ---------------------------------------------------------------


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[ImigrasiAdapter, httpx.AsyncClient]]:
    app = create_app(ImigrasiKnobs(polls_per_stage=1))
    transport = httpx.ASGITransport(app=app)
    adapter = ImigrasiAdapter(
        ImigrasiSettings(base_url="http://imigrasi.test", poll_interval_seconds=0.3),  # type: ignore[arg-type]
        transport=transport,
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://imigrasi.test") as control:
        yield adapter, control
    await adapter.aclose()
    app.state.simulator.runtime.ledger.close()


async def test_a_whole_application_against_the_simulator(simulated: tuple[ImigrasiAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = simulated
    step = uuid.uuid4()

    reports = [await adapter.execute(command("passport_renewal"), step)]
    while not reports[-1].status.is_terminal:
        assert reports[-1].agency_ref and reports[-1].poll_after_seconds == 0.3
        reports.append(await adapter.poll(command("passport_renewal"), step, reports[-1].agency_ref))

    assert [r.status for r in reports] == [
        Status.ACCEPTED, Status.AWAITING_PAYMENT, Status.IN_PROCESS, Status.READY_FOR_PICKUP, Status.COMPLETED,
    ]  # fmt: skip
    output = PassportRenewalOutput.model_validate(reports[-1].outputs)
    assert output.replaced_passport_number == "X1234567"
    assert output.amount_paid == 950_000  # e-passport, 10 years (PP 45/2024)
    assert reports[1].outputs["billing_code"] == output.billing_code


async def test_a_repeated_submission_is_applied_once_with_the_same_answer(simulated: tuple[ImigrasiAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    await execute_twice(adapter, command(), STEP_ID, control)


async def test_the_simulators_schema_refusal_reaches_the_hub_as_a_failure_with_the_reason(
    simulated: tuple[ImigrasiAdapter, httpx.AsyncClient],
) -> None:
    adapter, _ = simulated
    named = command().model_copy(update={"applicant": Applicant(nik=NIK, name="Warga Uji 2")})

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(named, STEP_ID)

    assert (caught.value.code, caught.value.agency_code) == ("agency_refused_request", "PERMINTAAN_TIDAK_VALID")
    assert "NamaLengkap" in caught.value.message


async def test_a_returned_birth_certificate_is_fixed_by_a_new_step_with_another_document(
    simulated: tuple[ImigrasiAdapter, httpx.AsyncClient],
) -> None:
    """NIK ending in 98: the birth certificate does not match; the hub resubmits a
    corrected step (new step id) with the marriage book, and that one goes through."""
    adapter, _ = simulated
    returned_nik = command().model_copy(update={"applicant": Applicant(nik="1375015203900098", name="Siti Rahmah")})
    first = uuid.uuid4()
    accepted = await adapter.execute(returned_nik, first)
    assert accepted.agency_ref
    revision = await adapter.poll(returned_nik, first, accepted.agency_ref)
    assert revision.status is Status.NEEDS_REVISION
    assert revision.outputs["corrections"][0]["value"] == "birth_certificate"
    assert (await adapter.poll(returned_nik, first, accepted.agency_ref)).status is Status.NEEDS_REVISION, "it waits"

    corrected = returned_nik.model_copy(update={"data": {**returned_nik.data, "supporting_document": "marriage_book"}})
    second = uuid.uuid4()
    reports = [await adapter.execute(corrected, second)]
    while not reports[-1].status.is_terminal:
        reports.append(await adapter.poll(corrected, second, reports[0].agency_ref or ""))
    assert reports[-1].status is Status.COMPLETED
    assert reports[0].agency_ref != accepted.agency_ref, "a new application"


async def test_cancel_against_the_simulator_before_and_after_payment(simulated: tuple[ImigrasiAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = simulated
    early, late = uuid.uuid4(), uuid.uuid4()
    early_ref = (await adapter.execute(command(), early)).agency_ref
    late_ref = (await adapter.execute(command(), late)).agency_ref
    assert early_ref and late_ref
    assert (await adapter.poll(command(), early, early_ref)).status is Status.AWAITING_PAYMENT
    await adapter.poll(command(), late, late_ref)
    assert (await adapter.poll(command(), late, late_ref)).status is Status.IN_PROCESS  # paid

    cancelled = await adapter.cancel(command(), early, early_ref)
    refused = await adapter.cancel(command(), late, late_ref)
    again = await adapter.cancel(command(), early, early_ref)

    assert (cancelled.status, cancelled.agency_status) == (Status.CANCELLED, "DIBATALKAN")
    assert again == cancelled, "cancelling twice answers the same"
    assert (refused.status, refused.agency_status, refused.error) == (Status.IN_PROCESS, "DIPROSES", None)
    assert (await adapter.poll(command(), early, early_ref)).status is Status.CANCELLED
    assert (await adapter.poll(command(), late, late_ref)).status is Status.READY_FOR_PICKUP, "the paid one goes on"


async def test_a_cancel_that_overtakes_its_submission_stops_the_late_submission(
    simulated: tuple[ImigrasiAdapter, httpx.AsyncClient],
) -> None:
    adapter, _ = simulated
    cancelled = await adapter.cancel(command(), STEP_ID, None)
    assert cancelled.status is Status.CANCELLED
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(), STEP_ID)  # the command arrives after the cancel
    assert caught.value.agency_code == "ID_TRANSAKSI_SUDAH_DIPAKAI"
