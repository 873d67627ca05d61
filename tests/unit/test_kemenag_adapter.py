"""Specification of the Kemenag adapter (adapters/kemenag/adapter.py).

SIMKAH is replaced by the SDK's recording transport where a test states exactly what
the backend answers, and by the simulator app (``httpx.ASGITransport``) for round
trips. Whatever SIMKAH says, the adapter returns a report or raises one of the SDK's
outcome errors: transient (retry, pause), rejection (REJECTED), invalid (FAILED).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.kemenag import plugin as kemenag_plugin
from adapters.kemenag.adapter import KemenagAdapter
from adapters.kemenag.contract import BRIDE_NIK, GROOM_NIK, contract, duplicate_command, duplicate_data, registration_command
from adapters.kemenag.native import FORM, PATH_DUPLIKAT, PATH_PENDAFTARAN, decode_form, encode_form
from adapters.kemenag.simulator import WIB, KemenagKnobs, SimulatorSettings, create_app
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.discovery import load_adapter_factory
from adapters.sdk.testing.client import execute_twice
from adapters.sdk.testing.recording import RecordedAdapters, RecordingTransport, fail_with, recorded_adapters
from hub.catalogue import Catalogue
from schemas.lifecycle import Status
from schemas.messages import StepStatusReport
from schemas.services.haji import RegularHajjRegistrationInput, RegularHajjRegistrationOutput
from schemas.services.halal import HalalCertificationInput, HalalCertificationOutput
from schemas.services.kemenag import (
    MarriageBookDuplicateInput,
    MarriageBookDuplicateOutput,
    MarriageRegistrationInput,
    MarriageRegistrationOutput,
)
from support.samples import STEP_ID

PAYLOADS_UNDER_TEST = (
    "kemenag.marriage_registration",
    "kemenag.marriage_book_duplicate",
    "haji.regular_registration",
    "halal.certification",
)
HARI_INI = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)

BERHASIL: dict[str, str] = {
    "status": "BERHASIL",
    "no_pendaftaran": "DFT/137501/2026/00012",
    "tgl_daftar": "14-01-2026",
    "kode_kua": "137501",
    "nama_kua": "KUA Kecamatan Guguak Panjang",
    "tgl_akad": "11-02-2026",
    "jam_akad": "10:00",
    "tempat_akad": "KUA",
    "biaya": "0",
    "wajib_bimwin": "YA",
    "tgl_bimwin": "04-02-2026",
}
BERHASIL_LUAR = {**BERHASIL, "tempat_akad": "LUAR_KUA", "jam_akad": "19:30", "biaya": "600000", "kode_billing": "820260114000123"}
DUPLIKAT_OK = {
    "status": "BERHASIL",
    "no_duplikat": "DUP/137501/2026/00003",
    "no_akta_nikah": "0123/137501/III/2019",
    "kode_kua": "137501",
    "tgl_terbit": "14-01-2026",
}


def registration(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "groom": {"nik": GROOM_NIK, "name": "Budi Santoso"},
        "bride": {"nik": BRIDE_NIK, "name": "Siti Rahmah"},
        "ceremony_date": "2026-02-11",
        "ceremony_time": "10:00:00",
        "ceremony_place": "kua_office_hours",
        "kua_code": "137501",
        "n1_number": "474.2/015/BPA/2026",
    }
    data.update(overrides)
    return data


def form(body: dict[str, str], status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=encode_form(body).encode(), headers={"Content-Type": FORM, **(headers or {})})


def gagal(kode: str, status: int = 200, pesan: str = "ditolak") -> httpx.Response:
    return form({"status": "GAGAL", "kode": kode, "pesan": pesan}, status)


def html(text: str, status: int) -> httpx.Response:
    return httpx.Response(status, text=text, headers={"Content-Type": "text/html; charset=UTF-8"})


MAINTENANCE = "<!DOCTYPE html><html><body><h1>Sedang dalam pemeliharaan</h1></body></html>"


class FormBackend(RecordingTransport):
    """The recording transport, reading back the form the adapter sent."""

    def sent(self, index: int = -1) -> dict[str, str]:
        return decode_form(self.requests[index].content)


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[KemenagAdapter, FormBackend]]:
    settings = BackendSettings(base_url="http://simkah.test", timeout_seconds=0.5)
    async with recorded_adapters(lambda transport: KemenagAdapter(settings, transport=transport), FormBackend) as make:
        yield make


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[KemenagAdapter, httpx.AsyncClient]]:
    """The adapter wired to a fast simulator with a fixed 'today', plus a control client."""
    app = create_app(SimulatorSettings(knobs=KemenagKnobs(latency_ms=0, jitter_ms=0)), clock=lambda: HARI_INI)
    transport = httpx.ASGITransport(app=app)
    adapter = KemenagAdapter(BackendSettings(base_url="http://simkah.test"), transport=transport)
    async with httpx.AsyncClient(transport=transport, base_url="http://simkah.test") as control:
        yield adapter, control
    await adapter.aclose()
    app.state.runtime.ledger.close()


# ------------------------------------------------------------------ settings


def test_timeout_defaults_to_20_seconds_because_simkah_is_slow() -> None:
    assert KemenagAdapter(BackendSettings(base_url="http://simkah.test")).settings.timeout_seconds == 20.0
    assert KemenagAdapter(BackendSettings(base_url="http://simkah.test", timeout_seconds=5)).settings.timeout_seconds == 5.0


def test_unknown_settings_are_refused_instead_of_ignored() -> None:
    with pytest.raises(AdapterSettingsError, match="MPP_AGENCIES__KEMENAG__TIMEOUT_SECNDS is not a setting"):
        KemenagAdapter.narrow_settings(BackendSettings.model_validate({"base_url": "http://simkah.test", "timeout_secnds": 3}))


def test_the_adapter_is_found_by_entry_point() -> None:
    adapter = load_adapter_factory("kemenag")(BackendSettings(base_url="http://simkah.test"))
    assert isinstance(adapter, KemenagAdapter)
    assert isinstance(kemenag_plugin.adapter(BackendSettings(base_url="http://simkah.test")), KemenagAdapter)
    assert adapter.operations == {"marriage_registration", "marriage_book_duplicate", "marriage_recommendation"}


# --------------------------------------------------------- canonical -> native


async def test_registration_is_posted_form_encoded_with_the_step_id_as_id_transaksi(make_adapter: Any) -> None:
    adapter, backend = make_adapter(lambda _: form(BERHASIL))

    await adapter.execute(registration_command(registration()), STEP_ID)

    [request] = backend.requests
    assert (request.method, request.url.path) == ("POST", PATH_PENDAFTARAN)
    assert request.headers["Content-Type"] == FORM
    assert backend.sent() == {
        "id_transaksi": str(STEP_ID),
        "nik_pemohon": GROOM_NIK,
        "nik_suami": GROOM_NIK,
        "nama_suami": "Budi Santoso",
        "tgl_lahir_suami": "01-01-1990",  # decoded from the NIK
        "status_kawin_suami": "BELUM_KAWIN",
        "nik_istri": BRIDE_NIK,
        "nama_istri": "Siti Rahmah",
        "tgl_lahir_istri": "12-03-1995",  # women's NIKs carry day + 40
        "status_kawin_istri": "BELUM_KAWIN",
        "tgl_akad": "11-02-2026",
        "jam_akad": "10:00",
        "tempat_akad": "KUA",
        "kode_kua": "137501",
        "no_n1": "474.2/015/BPA/2026",
    }


async def test_optional_documents_and_place_are_translated(make_adapter: Any) -> None:
    adapter, backend = make_adapter(lambda _: form(BERHASIL_LUAR))
    data = registration(
        groom={"nik": GROOM_NIK, "name": "Budi", "marital_status": "widowed", "previous_marriage_document": "474.3/07/2023"},
        bride={
            "nik": BRIDE_NIK,
            "name": "Siti",
            "marital_status": "divorced",
            "previous_marriage_document": "0456/AC/2024/PA.Bkt",
            "parental_consent_n5": "N5/1",
        },
        ceremony_place="outside_kua_or_after_hours",
        ceremony_time="19:30:45",
        ceremony_address="Jl. Sudirman 1, Bukittinggi",
        court_dispensation_number="12/Pdt.P/2026/PA.Bkt",
        short_notice_dispensation_number="474/12/KEC-GP/2026",
    )

    await adapter.execute(registration_command(data, nik=BRIDE_NIK, name="Siti"), STEP_ID)

    sent = backend.sent()
    assert sent["nik_pemohon"] == BRIDE_NIK
    assert (sent["status_kawin_suami"], sent["no_dok_kawin_lalu_suami"]) == ("CERAI_MATI", "474.3/07/2023")
    assert (sent["status_kawin_istri"], sent["no_dok_kawin_lalu_istri"]) == ("CERAI_HIDUP", "0456/AC/2024/PA.Bkt")
    assert sent["no_n5_istri"] == "N5/1" and "no_n5_suami" not in sent
    assert (sent["tempat_akad"], sent["jam_akad"], sent["alamat_akad"]) == ("LUAR_KUA", "19:30", "Jl. Sudirman 1, Bukittinggi")
    assert (sent["no_dispensasi"], sent["no_dispensasi_camat"]) == ("12/Pdt.P/2026/PA.Bkt", "474/12/KEC-GP/2026")


async def test_duplicate_is_posted_with_the_reason_and_police_report(make_adapter: Any) -> None:
    adapter, backend = make_adapter(lambda _: form(DUPLIKAT_OK))

    await adapter.execute(duplicate_command(duplicate_data(marriage_certificate_number="0123/137501/iii/2019")), STEP_ID)

    assert backend.requests[0].url.path == PATH_DUPLIKAT
    assert backend.sent() == {
        "id_transaksi": str(STEP_ID),
        "nik_pemohon": GROOM_NIK,
        "nama_pemohon": "Budi Santoso",
        "no_akta_nikah": "0123/137501/III/2019",
        "alasan": "HILANG",
        "no_surat_kehilangan": "STPLK/123/I/2026/SPKT",
    }


# --------------------------------------------------------- native -> canonical


async def test_registered_at_the_kua_completes_without_fee_or_billing_code(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: form(BERHASIL))

    report = await adapter.execute(registration_command(registration()), STEP_ID)

    assert report.status is Status.COMPLETED
    assert (report.agency_status, report.agency_ref) == ("BERHASIL", "DFT/137501/2026/00012")
    output = MarriageRegistrationOutput.model_validate(report.outputs)
    assert output.registration_number == "DFT/137501/2026/00012"
    assert (output.ceremony_date, output.ceremony_time.isoformat(timespec="minutes")) == (date(2026, 2, 11), "10:00")
    assert (output.kua_code, output.kua_name) == ("137501", "KUA Kecamatan Guguak Panjang")
    assert (output.fee, output.billing_code) == (0, None)
    assert output.premarital_counselling_required is True
    assert output.premarital_counselling_date == date(2026, 2, 4)


async def test_registered_outside_the_kua_completes_with_fee_and_billing_code(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: form(BERHASIL_LUAR))

    report = await adapter.execute(registration_command(registration(ceremony_place="outside_kua_or_after_hours")), STEP_ID)

    assert report.status is Status.COMPLETED
    assert report.outputs["fee"] == 600_000
    assert report.outputs["billing_code"] == "820260114000123"
    assert report.outputs["ceremony_place"] == "outside_kua_or_after_hours"


async def test_duplicate_completes_with_its_number_and_issue_date(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: form(DUPLIKAT_OK))

    report = await adapter.execute(duplicate_command(duplicate_data()), STEP_ID)

    assert report.status is Status.COMPLETED
    output = MarriageBookDuplicateOutput.model_validate(report.outputs)
    assert (output.duplicate_number, output.issued_on) == ("DUP/137501/2026/00003", date(2026, 1, 14))
    assert report.agency_ref == "DUP/137501/2026/00003"


async def test_extra_answer_fields_are_tolerated(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: form({**BERHASIL, "versi": "4.2"}))
    assert (await adapter.execute(registration_command(registration()), STEP_ID)).status is Status.COMPLETED


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("kode", "code"),
    [
        ("KUA_TIDAK_DIKENAL", "unknown_kua"),
        ("PEMOHON_BUKAN_CATIN", "applicant_not_party"),
        ("TANGGAL_AKAD_LEWAT", "ceremony_date_past"),
        ("PEMBERITAHUAN_KURANG_10_HARI", "notice_too_short"),
        ("DI_LUAR_JAM_KERJA", "outside_office_hours"),
        ("USIA_DI_BAWAH_MINIMUM", "under_age_without_dispensation"),
        ("IZIN_ORANG_TUA_WAJIB", "parental_consent_required"),
        ("DOKUMEN_PERKAWINAN_LALU_WAJIB", "previous_marriage_document_required"),
        ("AKTA_TIDAK_DITEMUKAN", "marriage_record_not_found"),
        ("SURAT_KEHILANGAN_WAJIB", "police_report_required"),
        ("KUOTA_HARIAN_PENUH", "agency_quota_exhausted"),
    ],
)
async def test_business_refusals_become_rejections_with_clear_codes(make_adapter: Any, kode: str, code: str) -> None:
    adapter, _ = make_adapter(lambda _: gagal(kode, pesan="Alasan dari KUA."))

    with pytest.raises(AgencyRejection) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)

    assert (caught.value.code, caught.value.agency_code) == (code, kode)
    assert "Alasan dari KUA." in caught.value.message


@pytest.mark.parametrize(
    "kode", ["DATA_TIDAK_LENGKAP", "DATA_TIDAK_VALID", "FORMAT_TIDAK_VALID", "ID_TRANSAKSI_WAJIB", "ID_TRANSAKSI_GANDA"]
)
async def test_protocol_refusals_are_our_bug_and_fail_the_step(make_adapter: Any, kode: str) -> None:
    adapter, _ = make_adapter(lambda _: gagal(kode, status=400 if kode != "ID_TRANSAKSI_GANDA" else 200))

    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)

    assert (caught.value.code, caught.value.agency_code) == ("agency_refused_request", kode)


async def test_an_unknown_refusal_code_fails_the_step(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: gagal("KODE_BARU"))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)
    assert (caught.value.code, caught.value.agency_code) == ("agency_error_unknown", "KODE_BARU")


@pytest.mark.parametrize("body", [{**BERHASIL, "status": "DIPROSES"}, {k: v for k, v in BERHASIL.items() if k != "status"}])
async def test_an_unknown_or_missing_status_fails_the_step(make_adapter: Any, body: dict[str, str]) -> None:
    adapter, _ = make_adapter(lambda _: form(body))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)
    assert caught.value.code == "agency_status_unknown"


# ----------------------------------------------------------------- transient


@pytest.mark.parametrize(
    "response",
    [
        html(MAINTENANCE, 503),
        html(MAINTENANCE, 200),  # some proxies serve the page with 200
        html("<html><body><h1>502 Bad Gateway</h1></body></html>", 502),
        html("<html><head><title>504 Gateway Time-out</title></head></html>", 504),
        httpx.Response(500, text="Internal Server Error"),
        gagal("SISTEM_SIBUK", 429),
    ],
    ids=["maintenance-503", "maintenance-200", "502", "504", "500", "429"],
)
async def test_maintenance_pages_and_server_errors_are_transient(make_adapter: Any, response: httpx.Response) -> None:
    adapter, _ = make_adapter(lambda _: response)
    with pytest.raises(TransientBackendError):
        await adapter.execute(registration_command(registration()), STEP_ID)


async def test_busy_carries_retry_after(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: form({"status": "GAGAL", "kode": "SISTEM_SIBUK", "pesan": "sibuk"}, 503, {"Retry-After": "2"}))
    with pytest.raises(TransientBackendError) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)
    assert caught.value.retry_after == 2.0


async def test_busy_inside_a_200_answer_is_transient_too(make_adapter: Any) -> None:
    adapter, _ = make_adapter(lambda _: gagal("SISTEM_SIBUK", 200))
    with pytest.raises(TransientBackendError):
        await adapter.execute(registration_command(registration()), STEP_ID)


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")])
async def test_timeouts_and_connection_errors_are_transient(make_adapter: Any, error: Exception) -> None:
    adapter, _ = make_adapter(fail_with(error))
    with pytest.raises(TransientBackendError):
        await adapter.execute(duplicate_command(duplicate_data()), STEP_ID)


# ------------------------------------------------------------------- invalid


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(
            200,
            text="<br />\n<b>Warning</b>:  mysqli_query(): MySQL server has gone away<br />\nstatus=BERHASIL&no_",
            headers={"Content-Type": "text/html"},
        ),
        httpx.Response(200, json={"status": "BERHASIL"}),
        httpx.Response(200, content=b""),
        httpx.Response(200, content=b"status=BERHASIL&status=GAGAL", headers={"Content-Type": FORM}),
        httpx.Response(200, content=b"\xff\xfe\x00", headers={"Content-Type": FORM}),
        httpx.Response(404, text="<html><body>Not Found</body></html>", headers={"Content-Type": "text/html"}),
    ],
    ids=["php-warning", "json", "empty", "repeated-field", "not-utf8", "html-404"],
)
async def test_an_answer_that_is_not_the_protocol_fails_the_step(make_adapter: Any, response: httpx.Response) -> None:
    adapter, _ = make_adapter(lambda _: response)
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)
    assert caught.value.code == "agency_answer_invalid"


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in BERHASIL.items() if k != "no_pendaftaran"},
        {**BERHASIL, "biaya": "enam ratus ribu"},
        {**BERHASIL, "tgl_akad": "2026-02-11"},
        {**BERHASIL, "kode_billing": "12345"},
        {**BERHASIL, "biaya": "600000"},  # a fee without a billing code to pay it with
        {**BERHASIL, "kode_kua": "137502"},  # not the KUA we asked
        {"status": "GAGAL", "pesan": "tanpa kode"},
    ],
    ids=["missing-number", "fee-not-int", "iso-date", "bad-billing", "fee-without-billing", "other-kua", "refusal-without-code"],
)
async def test_a_schema_invalid_answer_fails_the_step(make_adapter: Any, body: dict[str, str]) -> None:
    adapter, _ = make_adapter(lambda _: form(body))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(registration_command(registration()), STEP_ID)
    assert caught.value.code == "agency_answer_invalid"


async def test_invalid_step_input_fails_without_calling_simkah(make_adapter: Any) -> None:
    adapter, backend = make_adapter(lambda _: form(BERHASIL))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(registration_command(registration(kua_code="KUA-1")), STEP_ID)
    assert caught.value.code == "invalid_step_input"
    assert "kua_code" in caught.value.message
    assert backend.requests == []


async def test_an_unknown_operation_is_refused_without_calling_simkah(make_adapter: Any) -> None:
    adapter, backend = make_adapter(lambda _: form(BERHASIL))
    command = registration_command(registration()).model_copy(update={"operation": "rujuk"})
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command, STEP_ID)
    assert caught.value.code == "unsupported_operation"
    assert backend.requests == []


async def test_logs_never_carry_a_full_nik(make_adapter: Any, caplog: pytest.LogCaptureFixture) -> None:
    adapter, _ = make_adapter(lambda _: form(BERHASIL))
    with caplog.at_level(logging.DEBUG):
        await adapter.execute(registration_command(registration()), STEP_ID)
    assert GROOM_NIK not in caplog.text and BRIDE_NIK not in caplog.text
    assert "1375**********03" in caplog.text


# -------------------------------------------------- round trips with SIMKAH sim


async def test_round_trip_against_the_simulator_applies_once_per_step(simulated: tuple[KemenagAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    command = registration_command(registration(ceremony_place="outside_kua_or_after_hours", ceremony_time="19:30:00"))

    first = await execute_twice(adapter, command, STEP_ID, control)
    assert first.outputs["fee"] == 600_000 and first.outputs["billing_code"].startswith("8")


async def test_round_trip_refusal_and_maintenance(simulated: tuple[KemenagAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    with pytest.raises(AgencyRejection) as refused:
        await adapter.execute(registration_command(registration(ceremony_date="2026-01-27")), uuid.uuid4())
    assert refused.value.code == "notice_too_short"

    await control.put("/_sim/knobs", json={"down": True})
    with pytest.raises(TransientBackendError, match="maintenance"):
        await adapter.execute(duplicate_command(duplicate_data()), uuid.uuid4())

    await control.put("/_sim/knobs", json={"down": False, "garble_rate": 1.0})
    with pytest.raises(AgencyAnswerInvalid):
        await adapter.execute(duplicate_command(duplicate_data()), uuid.uuid4())


async def test_every_contract_sample_reaches_its_expected_status() -> None:
    declared = contract()
    assert declared.agency == "kemenag"
    operations = {s.command.operation for s in declared.samples}
    assert operations == {"marriage_registration", "marriage_book_duplicate", "marriage_recommendation"}
    assert any(s.expect is Status.REJECTED for s in declared.samples)

    app = create_app(SimulatorSettings(knobs=KemenagKnobs(latency_ms=0, jitter_ms=0)))  # real "today"
    settings = declared.backend_settings("http://simkah.test", "http://hub.test")
    adapter = KemenagAdapter(settings, transport=httpx.ASGITransport(app=app))
    try:
        for sample in declared.samples:
            try:
                report = await adapter.execute(sample.command, uuid.uuid4())
                status, code = report.status, None
            except AgencyRejection as exc:
                status, code = Status.REJECTED, exc.code
            assert (sample.name, status, code) == (sample.name, sample.expect, sample.expect_error_code)
            if status is Status.COMPLETED:
                StepStatusReport.model_validate(report.model_dump())
    finally:
        await adapter.aclose()
        app.state.runtime.ledger.close()


# ------------------------------------------- canonical payloads and catalogue


def test_the_same_person_cannot_be_groom_and_bride() -> None:
    with pytest.raises(ValidationError, match="two different people"):
        MarriageRegistrationInput.model_validate(registration(bride={"nik": GROOM_NIK, "name": "Budi"}))


def test_a_previous_marriage_must_be_documented_in_the_request() -> None:
    with pytest.raises(ValidationError, match="previous_marriage_document"):
        MarriageRegistrationInput.model_validate(registration(bride={"nik": BRIDE_NIK, "name": "Siti", "marital_status": "divorced"}))


def test_a_lost_book_needs_a_police_report_in_the_request() -> None:
    with pytest.raises(ValidationError, match="police_report_number"):
        MarriageBookDuplicateInput.model_validate(duplicate_data(police_report_number=None))
    assert MarriageBookDuplicateInput.model_validate(duplicate_data(reason="damaged", police_report_number=None))


def test_a_fee_comes_with_a_billing_code_in_the_output() -> None:
    base = {
        "registration_number": "DFT/137501/2026/00001",
        "registered_on": "2026-01-14",
        "ceremony_date": "2026-02-11",
        "ceremony_time": "10:00",
        "ceremony_place": "kua_office_hours",
        "kua_code": "137501",
        "kua_name": "KUA",
        "fee": 0,
        "premarital_counselling_required": True,
    }
    assert MarriageRegistrationOutput.model_validate(base).billing_code is None
    with pytest.raises(ValidationError):
        MarriageRegistrationOutput.model_validate({**base, "fee": 600_000})
    with pytest.raises(ValidationError):
        MarriageRegistrationOutput.model_validate({**base, "billing_code": "820260114000123"})


def test_self_declare_halal_is_only_for_micro_and_small_businesses() -> None:
    body = {
        "nib": "9120001234567",
        "business_name": "Rendang Uni",
        "route": "self_declare",
        "products": [{"name": "Rendang", "ingredients": ["daging"]}],
    }
    assert HalalCertificationInput.model_validate({**body, "business_scale": "micro"})
    with pytest.raises(ValidationError, match="self_declare"):
        HalalCertificationInput.model_validate({**body, "business_scale": "medium"})
    with pytest.raises(ValidationError):
        HalalCertificationInput.model_validate({**body, "business_scale": "micro", "nib": "912000123456"})  # 12 digits


def test_hajj_registration_needs_the_25_million_deposit() -> None:
    body = {
        "deposit_bank": "BSI",
        "deposit_validation_number": "V-1",
        "deposit_amount": 25_000_000,
        "deposit_date": "2026-01-14",
        "family_card_number": "1375011401260001",
        "registration_office": "1375",
        "health_certificate_number": "440/1",
    }
    assert RegularHajjRegistrationInput.model_validate(body)
    with pytest.raises(ValidationError):
        RegularHajjRegistrationInput.model_validate({**body, "deposit_amount": 24_999_999})
    with pytest.raises(ValidationError):
        RegularHajjRegistrationOutput.model_validate(
            {"portion_number": "12345", "spph_number": "SPPH-1", "registered_on": "2026-01-14", "estimated_departure_year": 2052}
        )


def test_the_catalogue_points_marriage_at_kemenag_and_hajj_and_halal_at_their_new_providers() -> None:
    catalogue = Catalogue.load()
    providers = {code: catalogue.get(code).provider for code in PAYLOADS_UNDER_TEST}  # type: ignore[union-attr]
    assert providers == {
        "kemenag.marriage_registration": "kemenag",
        "kemenag.marriage_book_duplicate": "kemenag",
        "haji.regular_registration": "kemenhaj",
        "halal.certification": "bpjph",
    }
    for code in ("kemenag.marriage_registration", "kemenag.marriage_book_duplicate"):
        assert catalogue.get(code).operation in KemenagAdapter.operations  # type: ignore[union-attr]
    assert catalogue.get("haji.regular_registration").payloads.input is RegularHajjRegistrationInput  # type: ignore[union-attr]
    assert catalogue.get("halal.certification").payloads.output is HalalCertificationOutput  # type: ignore[union-attr]
