"""Specification of the BPJPH adapter (adapters/bpjph/adapter.py).

Most tests replace SIHALAL with the SDK's recording transport that answers literal JSON,
so each test states what BPJPH says and what canonical outcome the adapter must make
of it; the last ones run the adapter against the simulator (``httpx.ASGITransport``).
Whatever BPJPH says, the adapter returns a report or raises one of the SDK's outcome
errors; it never crashes with anything else.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.bpjph import plugin as bpjph_plugin
from adapters.bpjph.adapter import STATUS_MAP, BpjphAdapter, BpjphSettings, canonical_field
from adapters.bpjph.contract import contract
from adapters.bpjph.native import PengajuanSertifikasi, StatusPengajuan
from adapters.bpjph.simulator import BpjphKnobs, create_app
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, Capability, TransientBackendError
from adapters.sdk.base import BackendStyle
from adapters.sdk.testing.client import against_simulator, execute_twice
from adapters.sdk.testing.recording import OUTAGES, Handler, RecordedAdapters, RecordingTransport, answer, recorded_adapters
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand
from schemas.services.djp import KswpOutput
from schemas.services.halal import HalalCertificationInput, HalalCertificationOutput
from support.samples import halal_self_declare_data as data

NIK = "1375015203900007"
STEP_ID = uuid.UUID("3f1e2d3c-4b5a-4697-8877-665544332211")
NOMOR = "SH2026-1-000123"
NOMOR_REGULER = "SH2026-2-000124"
API_KEY = "rahasia-mitra"
KSWP = {"npwp": "1375 0152 0390 0007", "taxpayer_status": "VALID", "kswp_confirmed_at": "2026-01-14T09:00:00+07:00"}


def command(operation: str = "certification", **changes: Any) -> StepCommand:
    return StepCommand(
        service="halal.certification", operation=operation, applicant=Applicant(nik=NIK, name="Siti Rahmah"), data=data(**changes)
    )


def receipt(nomor: str = NOMOR, jenis: str = "SELF_DECLARE", **changes: Any) -> dict[str, Any]:
    return {
        "sukses": True,
        "data": {"nomor_daftar": nomor, "status": "DIAJUKAN", "jenis_pengajuan": jenis, "tanggal_pengajuan": "2026-01-14", **changes},
    }


TAGIHAN = {"kode_billing": "820260114000123", "jumlah": 2_500_000, "batas_bayar": "2026-01-21"}
PAID = {**TAGIHAN, "tanggal_bayar": "2026-01-15"}
SERTIFIKAT = {"nomor_sertifikat": "ID13000000000000123", "tanggal_terbit": "2026-01-30"}

#: What each native status carries for a regular application, as SIHALAL documents it.
SECTIONS: dict[str, dict[str, Any]] = {
    "DIAJUKAN": {},
    "VERIFIKASI": {},
    "MENUNGGU_PEMBAYARAN": {"tagihan": TAGIHAN},
    "PEMERIKSAAN_LPH": {"tagihan": PAID},
    "SIDANG_FATWA": {"tagihan": PAID},
    "TERBIT": {"tagihan": PAID, "sertifikat": SERTIFIKAT},
    "DIKEMBALIKAN": {"catatan_perbaikan": [{"bagian": "produk[0].bahan[1]", "keterangan": "Cantumkan sertifikat halal perisa."}]},
    "DITOLAK": {"penolakan": {"kode": "BAHAN_TIDAK_HALAL", "alasan": "Mengandung babi."}},
    "KEDALUWARSA": {"tagihan": TAGIHAN, "penolakan": {"kode": "BILLING_KEDALUWARSA", "alasan": "Tidak dibayar."}},
}


def status(
    native: str, *, jenis: str = "REGULER", nomor: str = NOMOR_REGULER, biaya: int | None = 2_500_000, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nomor_daftar": nomor, "status": native, "jenis_pengajuan": jenis, "tanggal_pengajuan": "2026-01-14", "keterangan": "keterangan",
        **({"biaya": biaya} if biaya is not None else {}), **SECTIONS.get(native, {}),
    }  # fmt: skip
    return {"sukses": True, "data": {**body, **changes}}


def self_declare(native: str, **changes: Any) -> dict[str, Any]:
    """The same for a self-declare application: free, so never a billing."""
    body = status(native, jenis="SELF_DECLARE", nomor=NOMOR, biaya=0)
    body["data"].pop("tagihan", None)
    body["data"].update(changes)
    return body


def error(kode: str, pesan: str = "pesan") -> dict[str, Any]:
    return {"sukses": False, "galat": {"kode": kode, "pesan": pesan}}


def settings(**changes: Any) -> BackendSettings:
    values = {"base_url": "http://sihalal.test", "timeout_seconds": 0.5, "api_key": API_KEY, "poll_interval_seconds": 7.5, **changes}
    return BackendSettings.model_validate({k: v for k, v in values.items() if v is not None})


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[BpjphAdapter, RecordingTransport]]:
    async with recorded_adapters(lambda transport: BpjphAdapter(settings(), transport=transport)) as make:
        yield make


# --- what the adapter is ---------------------------------------------------------------


def test_bpjph_is_a_polling_backend_for_halal_certification() -> None:
    assert BpjphAdapter.agency == "bpjph"
    assert BpjphAdapter.style is BackendStyle.POLLING
    assert BpjphAdapter.operations == {"certification"}
    assert BpjphAdapter.capabilities == {Capability.POLL}, "polled; SIHALAL offers no cancellation"


@pytest.mark.parametrize("api_key", [None, "  "], ids=["missing", "blank"])
def test_the_adapter_refuses_to_start_without_its_api_key_naming_what_to_set(api_key: str | None) -> None:
    with pytest.raises(AdapterSettingsError) as caught:
        bpjph_plugin.adapter(settings(api_key=api_key))
    assert "MPP_AGENCIES__BPJPH__API_KEY" in str(caught.value)
    assert API_KEY not in str(caught.value)


def test_poll_interval_defaults_to_a_minute_and_nonsense_is_refused() -> None:
    assert BpjphSettings.model_validate({"base_url": "http://x", "api_key": "k"}).poll_interval_seconds == 60
    with pytest.raises(AdapterSettingsError, match="POLL_INTERVAL_SECONDS"):
        bpjph_plugin.adapter(settings(poll_interval_seconds="0"))


# --- canonical -> native --------------------------------------------------------------------


async def test_a_submission_carries_the_api_key_the_step_id_and_sihalal_field_names(make_adapter) -> None:
    adapter, backend = make_adapter(answer(201, receipt()))

    await adapter.execute(command(**KSWP), STEP_ID)

    [request] = backend.requests
    assert (request.method, request.url.path) == ("POST", "/api/sihalal/v1/pengajuan")
    assert request.headers["X-Api-Key"] == API_KEY
    assert request.headers["Idempotency-Key"] == str(STEP_ID), "the step id is SIHALAL's idempotency key"
    PengajuanSertifikasi.model_validate_json(request.content)  # BPJPH's own schema
    assert json.loads(request.content) == {
        "nib": "9120001234567",
        "nama_usaha": "Rendang Uni Siti",
        "skala_usaha": "MIKRO",
        "jenis_pengajuan": "SELF_DECLARE",
        "penanggung_jawab": {"nik": NIK, "nama": "Siti Rahmah"},
        "produk": [{"nama_produk": "Rendang daging", "bahan": ["daging sapi", "santan", "cabai", "bumbu"]}],
        "npwp": "1375015203900007",
        "status_kswp": "VALID",
        "waktu_konfirmasi_kswp": "2026-01-14T09:00:00+07:00",
    }


async def test_without_a_kswp_answer_the_kswp_fields_are_left_out(make_adapter) -> None:
    adapter, backend = make_adapter(answer(201, receipt()))
    await adapter.execute(command(), STEP_ID)
    sent = json.loads(backend.requests[0].content)
    assert not {"npwp", "status_kswp", "waktu_konfirmasi_kswp"} & set(sent)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"business_scale": "small"}, ("KECIL", "SELF_DECLARE")),
        ({"business_scale": "medium", "route": "regular"}, ("MENENGAH", "REGULER")),
        (
            {"business_scale": "large", "route": "regular", "taxpayer_status": "TIDAK_VALID", "kswp_confirmed_at": "2026-01-14T09:00:00Z"},
            ("BESAR", "REGULER"),
        ),
    ],
)
async def test_canonical_choices_become_sihalal_codes(make_adapter, changes: dict[str, str], expected: tuple[str, str]) -> None:
    adapter, backend = make_adapter(answer(201, receipt(jenis=expected[1])))
    await adapter.execute(command(**changes), STEP_ID)
    sent = json.loads(backend.requests[0].content)
    assert (sent["skala_usaha"], sent["jenis_pengajuan"]) == expected
    if "taxpayer_status" in changes:
        assert sent["status_kswp"] == "TIDAK_VALID", "the adapter passes DJP's answer on; BPJPH decides"


async def test_invalid_step_input_never_reaches_bpjph(make_adapter) -> None:
    adapter, backend = make_adapter(answer(201, receipt()))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(taxpayer_status="VALID"), STEP_ID)  # without kswp_confirmed_at
    assert caught.value.code == "invalid_step_input"
    assert backend.requests == []


async def test_an_unknown_operation_is_refused_without_calling_bpjph(make_adapter) -> None:
    adapter, backend = make_adapter(answer(201, receipt()))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command("registration"), STEP_ID)
    assert caught.value.code == "unsupported_operation"
    assert backend.requests == []


async def test_the_full_nik_is_never_logged(make_adapter, caplog: pytest.LogCaptureFixture) -> None:
    adapter, _ = make_adapter(answer(201, receipt()))
    with caplog.at_level(logging.DEBUG, logger="adapters.bpjph"):
        await adapter.execute(command(), STEP_ID)
    assert caplog.records
    assert NIK not in caplog.text and "1375**********07" in caplog.text
    assert API_KEY not in caplog.text


async def test_polling_gets_the_application_by_its_registration_number(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, self_declare("VERIFIKASI")))
    await adapter.poll(command(), STEP_ID, NOMOR)
    [request] = backend.requests
    assert (request.method, request.url.path) == ("GET", f"/api/sihalal/v1/pengajuan/{NOMOR}")
    assert request.headers["X-Api-Key"] == API_KEY


# --- native -> canonical ----------------------------------------------------------------------


async def test_a_receipt_is_accepted_with_the_registration_number_to_poll_with(make_adapter) -> None:
    adapter, _ = make_adapter(answer(201, receipt()))
    report = await adapter.execute(command(), STEP_ID)
    assert (report.status, report.agency_status, report.agency_ref, report.poll_after_seconds) == (Status.ACCEPTED, "DIAJUKAN", NOMOR, 7.5)
    assert report.outputs == {"registration_number": NOMOR, "route": "self_declare", "submitted_on": "2026-01-14"}


def test_every_native_status_has_a_canonical_one() -> None:
    """Read from the hub's side: which SIHALAL statuses each canonical status stands for."""
    assert set(STATUS_MAP) == set(StatusPengajuan)
    natives_of = {status: {native.value for native, mapped in STATUS_MAP.items() if mapped is status} for status in STATUS_MAP.values()}
    assert natives_of == {
        Status.ACCEPTED: {"DIAJUKAN"},
        Status.IN_PROCESS: {"VERIFIKASI", "PENDAMPINGAN_PPH", "PEMERIKSAAN_LPH", "SIDANG_FATWA"},
        Status.AWAITING_PAYMENT: {"MENUNGGU_PEMBAYARAN"},
        Status.COMPLETED: {"TERBIT"},
        Status.NEEDS_REVISION: {"DIKEMBALIKAN"},
        Status.REJECTED: {"DITOLAK"},
        Status.EXPIRED: {"KEDALUWARSA"},
    }


@pytest.mark.parametrize(
    ("native", "canonical", "extra"),
    [
        ("VERIFIKASI", Status.IN_PROCESS, {}),
        (
            "MENUNGGU_PEMBAYARAN",
            Status.AWAITING_PAYMENT,
            {"billing_code": "820260114000123", "amount": 2_500_000, "pay_before": "2026-01-21"},
        ),
        (
            "PEMERIKSAAN_LPH",
            Status.IN_PROCESS,
            {"billing_code": "820260114000123", "amount": 2_500_000, "pay_before": "2026-01-21", "paid_on": "2026-01-15"},
        ),
        (
            "SIDANG_FATWA",
            Status.IN_PROCESS,
            {"billing_code": "820260114000123", "amount": 2_500_000, "pay_before": "2026-01-21", "paid_on": "2026-01-15"},
        ),
    ],
)
async def test_progress_is_mapped_with_cumulative_outputs_and_a_next_poll(
    make_adapter, native: str, canonical: Status, extra: dict[str, Any]
) -> None:
    adapter, _ = make_adapter(answer(200, status(native)))
    report = await adapter.poll(command(route="regular", business_scale="medium"), STEP_ID, NOMOR_REGULER)
    assert (report.status, report.agency_status, report.agency_ref, report.poll_after_seconds) == (canonical, native, NOMOR_REGULER, 7.5)
    assert report.outputs == {
        "registration_number": NOMOR_REGULER,
        "route": "regular",
        "submitted_on": "2026-01-14",
        "fee": 2_500_000,
        **extra,
    }


async def test_the_self_declare_stages_need_no_billing(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, self_declare("PENDAMPINGAN_PPH")))
    report = await adapter.poll(command(), STEP_ID, NOMOR)
    assert report.status is Status.IN_PROCESS
    assert report.outputs == {"registration_number": NOMOR, "route": "self_declare", "submitted_on": "2026-01-14", "fee": 0}


async def test_an_issued_regular_certificate_completes_with_the_output_model(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, status("TERBIT")))
    report = await adapter.poll(command(route="regular", business_scale="medium"), STEP_ID, NOMOR_REGULER)
    assert (report.status, report.poll_after_seconds) == (Status.COMPLETED, None)
    assert report.outputs == {
        "registration_number": NOMOR_REGULER,
        "certificate_number": "ID13000000000000123",
        "issued_on": "2026-01-30",
        "route": "regular",
        "fee": 2_500_000,
        "billing_code": "820260114000123",
    }
    HalalCertificationOutput.model_validate(report.outputs)


async def test_an_issued_self_declare_certificate_is_free(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, self_declare("TERBIT")))
    report = await adapter.poll(command(), STEP_ID, NOMOR)
    output = HalalCertificationOutput.model_validate(report.outputs)
    assert (output.fee, output.billing_code, output.route) == (0, None, "self_declare")


async def test_returned_documents_need_revision_naming_the_canonical_fields_and_polling_stops(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, self_declare("DIKEMBALIKAN")))

    report = await adapter.poll(command(), STEP_ID, NOMOR)

    assert (report.status, report.agency_status, report.poll_after_seconds) == (Status.NEEDS_REVISION, "DIKEMBALIKAN", None)
    assert report.error is not None
    assert (report.error.code, report.error.agency_code) == ("documents_returned", "DIKEMBALIKAN")
    assert report.error.message == "correct products.0.ingredients.1: Cantumkan sertifikat halal perisa."
    assert report.outputs["corrections"] == [
        {"field": "products.0.ingredients.1", "agency_field": "produk[0].bahan[1]", "reason": "Cantumkan sertifikat halal perisa."}
    ]


@pytest.mark.parametrize(
    ("bagian", "field"),
    [("produk[0].bahan[1]", "products.0.ingredients.1"), ("produk[12]", "products.12"), ("nib", None), ("produk[x].bahan[1]", None)],
)
def test_sihalal_parts_are_placed_in_the_canonical_input(bagian: str, field: str | None) -> None:
    assert canonical_field(bagian) == field


async def test_a_note_the_adapter_cannot_place_is_still_named_by_sihalal(make_adapter) -> None:
    body = self_declare("DIKEMBALIKAN", catatan_perbaikan=[{"bagian": "dokumen_nib", "keterangan": "NIB kedaluwarsa."}])
    adapter, _ = make_adapter(answer(200, body))
    report = await adapter.poll(command(), STEP_ID, NOMOR)
    assert report.error is not None and report.error.message == "correct dokumen_nib: NIB kedaluwarsa."
    assert report.outputs["corrections"][0]["field"] is None


@pytest.mark.parametrize(
    ("native", "kode", "canonical", "code"),
    [
        ("DITOLAK", "BAHAN_TIDAK_HALAL", Status.REJECTED, "ingredient_not_halal"),
        ("DITOLAK", "ALASAN_BARU_2027", Status.REJECTED, "application_refused"),
        ("KEDALUWARSA", "BILLING_KEDALUWARSA", Status.EXPIRED, "billing_expired"),
    ],
)
async def test_endings_without_a_certificate_carry_the_reason(make_adapter, native: str, kode: str, canonical: Status, code: str) -> None:
    adapter, _ = make_adapter(answer(200, status(native, penolakan={"kode": kode, "alasan": "Alasan dari BPJPH."})))
    report = await adapter.poll(command(route="regular", business_scale="medium"), STEP_ID, NOMOR_REGULER)
    assert (report.status, report.poll_after_seconds, report.outputs) == (canonical, None, {})
    assert report.error is not None
    assert (report.error.code, report.error.agency_code, report.error.message) == (code, kode, "Alasan dari BPJPH.")


# --- answers that make no sense --------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (answer(200, raw=b"<html>Sesi berakhir</html>"), "agency_answer_invalid"),
        (answer(200, raw=b'{"sukses": true, "da'), "agency_answer_invalid"),
        (answer(200, {"status": "TERBIT"}), "agency_answer_invalid"),
        (answer(200, {"sukses": False, "data": {}}), "agency_answer_invalid"),
        (answer(200, self_declare("DITANGGUHKAN")), "agency_status_unknown"),
        (answer(200, self_declare("VERIFIKASI", status=["TERBIT"])), "agency_status_unknown"),
        (answer(200, self_declare("VERIFIKASI", nomor_daftar="SH2026-1-999999")), "agency_answer_invalid"),
        (answer(200, self_declare("VERIFIKASI", tanggal_pengajuan="kemarin")), "agency_answer_invalid"),
        (answer(200, self_declare("TERBIT", sertifikat=None)), "agency_answer_invalid"),
        (answer(200, self_declare("TERBIT", biaya=500_000)), "agency_output_invalid"),
        (answer(200, status("MENUNGGU_PEMBAYARAN", tagihan=None)), "agency_answer_invalid"),
        (answer(200, status("PEMERIKSAAN_LPH", tagihan=TAGIHAN)), "agency_answer_invalid"),
        (answer(200, self_declare("DIKEMBALIKAN", catatan_perbaikan=[])), "agency_answer_invalid"),
        (answer(200, self_declare("VERIFIKASI", nik=NIK)), "agency_answer_invalid"),
    ],
    ids=[
        "html", "truncated-json", "no-wrapper", "sukses-false-on-200", "unknown-status", "status-not-a-string", "another-application",
        "bad-date", "issued-without-certificate", "free-route-with-a-fee", "billing-stage-without-billing", "paid-stage-unpaid",
        "returned-without-notes", "unexpected-personal-field",
    ],
)  # fmt: skip
async def test_a_status_answer_that_makes_no_sense_is_an_invalid_answer(make_adapter, handler: Handler, code: str) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.poll(command(), STEP_ID, NOMOR)
    assert caught.value.code == code
    assert NIK not in caught.value.message


async def test_an_unknown_status_is_named_in_the_error(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, self_declare("DITANGGUHKAN")))
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.poll(command(), STEP_ID, NOMOR)
    assert "DITANGGUHKAN" in caught.value.message
    assert caught.value.agency_code == "DITANGGUHKAN"


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (answer(201, raw=b"<html>ok</html>"), "agency_answer_invalid"),
        (answer(201, receipt(nomor="12345")), "agency_answer_invalid"),
        (answer(201, receipt(jenis="REGULER")), "agency_answer_invalid"),
        (answer(201, receipt(status="TERBIT")), "agency_answer_invalid"),
        (answer(201, receipt(status="DIPROSES")), "agency_status_unknown"),
        (answer(200, receipt()), "agency_answer_invalid"),
    ],
    ids=["html", "bad-number", "other-route", "known-but-wrong-status", "unknown-status", "200-not-201"],
)
async def test_a_receipt_that_makes_no_sense_is_an_invalid_answer(make_adapter, handler: Handler, code: str) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(), STEP_ID)
    assert caught.value.code == code


# --- error mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "retry_after"),
    [
        (answer(503, error("SISTEM_SIBUK"), headers={"Retry-After": "1"}), 1.0),
        (answer(503, error("LAYANAN_TIDAK_TERSEDIA")), None),
        (answer(504, error("WAKTU_HABIS")), None),
        *((outage, None) for outage in OUTAGES.values()),
    ],
    ids=["busy", "down", "gateway-timeout", *OUTAGES],
)
async def test_outages_are_transient(make_adapter, handler: Handler, retry_after: float | None) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(TransientBackendError) as caught:
        await adapter.execute(command(), STEP_ID)
    assert caught.value.retry_after == retry_after
    with pytest.raises(TransientBackendError):
        await adapter.poll(command(), STEP_ID, NOMOR)


@pytest.mark.parametrize(
    ("status_code", "kode", "code"),
    [
        (422, "STATUS_WP_TIDAK_VALID", "taxpayer_status_invalid"),
        (422, "NIB_TIDAK_DITEMUKAN", "nib_not_found"),
        (422, "SELF_DECLARE_TIDAK_BERHAK", "self_declare_not_eligible"),
        (429, "KUOTA_HARIAN_HABIS", "agency_quota_exhausted"),
    ],
)
async def test_refusals_at_submission_are_rejections(make_adapter, status_code: int, kode: str, code: str) -> None:
    adapter, _ = make_adapter(answer(status_code, error(kode, "Pesan BPJPH.")))
    with pytest.raises(AgencyRejection) as caught:
        await adapter.execute(command(), STEP_ID)
    assert (caught.value.code, caught.value.agency_code, caught.value.message) == (code, kode, "Pesan BPJPH.")


@pytest.mark.parametrize(
    ("handler", "code", "agency_code"),
    [
        (answer(401, error("API_KEY_TIDAK_VALID")), "agency_auth_failed", "API_KEY_TIDAK_VALID"),
        (answer(409, error("KUNCI_BENTROK")), "agency_idempotency_conflict", "KUNCI_BENTROK"),
        (answer(422, error("DATA_TIDAK_VALID")), "agency_refused_request", "DATA_TIDAK_VALID"),
        (answer(404, error("PENGAJUAN_TIDAK_DITEMUKAN")), "agency_refused_request", "PENGAJUAN_TIDAK_DITEMUKAN"),
        (answer(418, raw=b"teapot"), "agency_answer_invalid", None),
        (answer(400, {"sukses": False, "galat": {"kode": "KODE_BARU", "pesan": "x"}}), "agency_answer_invalid", None),
    ],
    ids=["api-key", "key-conflict", "schema", "unknown-application", "unreadable", "unknown-error-code"],
)
async def test_other_errors_are_invalid_answers(make_adapter, handler: Handler, code: str, agency_code: str | None) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(AgencyAnswerInvalid) as caught:
        await adapter.execute(command(), STEP_ID)
    assert (caught.value.code, caught.value.agency_code) == (code, agency_code)


# --- the food-business flow: DJP's KSWP feeds BPJPH ----------------------------------------------


def test_the_kswp_steps_outputs_fit_the_halal_input_as_they_are() -> None:
    """The composite maps steps.kswp.outputs.{npwp,status,confirmed_at} to npwp,
    taxpayer_status and kswp_confirmed_at; the values must pass unchanged."""
    kswp = KswpOutput.model_validate(
        {
            "npwp": NIK,
            "status": "TIDAK_VALID",
            "unmet_criteria": ["annual_returns_filed"],
            "tax_years_checked": [2024, 2025],
            "confirmed_at": "2026-01-14T02:00:00Z",
        }
    ).model_dump(mode="json")
    mapped = data(npwp=kswp["npwp"], taxpayer_status=kswp["status"], kswp_confirmed_at=kswp["confirmed_at"])
    halal = HalalCertificationInput.model_validate(mapped)
    assert (halal.taxpayer_status, halal.npwp) == ("TIDAK_VALID", NIK)
    assert bpjph_plugin.payloads()["halal.certification"].input is HalalCertificationInput


def test_a_kswp_status_without_its_time_or_the_reverse_is_refused() -> None:
    with pytest.raises(ValidationError, match="kswp_confirmed_at"):
        HalalCertificationInput.model_validate(data(taxpayer_status="VALID"))
    with pytest.raises(ValidationError, match="taxpayer_status"):
        HalalCertificationInput.model_validate(data(kswp_confirmed_at="2026-01-14T09:00:00+07:00"))
    with pytest.raises(ValidationError):
        HalalCertificationInput.model_validate(data(taxpayer_status="MAYBE", kswp_confirmed_at="2026-01-14T09:00:00+07:00"))


def test_the_output_model_keeps_the_fee_consistent_with_the_route() -> None:
    base = {"registration_number": NOMOR, "certificate_number": "ID13000000000000123", "issued_on": "2026-01-30"}
    assert HalalCertificationOutput.model_validate({**base, "route": "self_declare", "fee": 0})
    assert HalalCertificationOutput.model_validate({**base, "route": "regular", "fee": 300_000, "billing_code": "820260114000123"})
    for wrong in (
        {"route": "self_declare", "fee": 300_000},
        {"route": "self_declare", "fee": 0, "billing_code": "820260114000123"},
        {"route": "regular", "fee": 0},
    ):
        with pytest.raises(ValidationError):
            HalalCertificationOutput.model_validate({**base, **wrong})


# --- against the simulator -------------------------------------------------------------------------


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[BpjphAdapter, httpx.AsyncClient]]:
    app = create_app(BpjphKnobs(polls_per_stage=1), api_key=API_KEY)
    transport = httpx.ASGITransport(app=app)
    adapter = BpjphAdapter(settings(poll_interval_seconds=0.3), transport=transport)
    async with httpx.AsyncClient(transport=transport, base_url="http://sihalal.test") as control:
        yield adapter, control
    await adapter.aclose()
    app.state.simulator.runtime.ledger.close()


async def drive(adapter: BpjphAdapter, cmd: StepCommand, step: uuid.UUID) -> list[Any]:
    reports = [await adapter.execute(cmd, step)]
    while not reports[-1].status.is_terminal and reports[-1].status is not Status.NEEDS_REVISION:
        assert reports[0].agency_ref and reports[-1].poll_after_seconds == 0.3
        reports.append(await adapter.poll(cmd, step, reports[0].agency_ref))
    return reports


async def test_a_regular_application_against_the_simulator(simulated: tuple[BpjphAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = simulated
    reports = await drive(adapter, command(route="regular", business_scale="small", **KSWP), uuid.uuid4())

    assert [r.status for r in reports] == [
        Status.ACCEPTED, Status.IN_PROCESS, Status.AWAITING_PAYMENT, Status.IN_PROCESS, Status.IN_PROCESS, Status.COMPLETED,
    ]  # fmt: skip
    output = HalalCertificationOutput.model_validate(reports[-1].outputs)
    assert (output.route, output.fee) == ("regular", 300_000)
    assert output.billing_code == reports[2].outputs["billing_code"]
    assert output.registration_number == reports[0].agency_ref


async def test_a_self_declare_application_against_the_simulator(simulated: tuple[BpjphAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = simulated
    reports = await drive(adapter, command(), uuid.uuid4())
    assert [r.agency_status for r in reports] == ["DIAJUKAN", "VERIFIKASI", "PENDAMPINGAN_PPH", "SIDANG_FATWA", "TERBIT"]
    assert reports[-1].outputs["fee"] == 0


async def test_a_returned_application_is_fixed_by_a_new_step(simulated: tuple[BpjphAdapter, httpx.AsyncClient]) -> None:
    adapter, _ = simulated
    returned = await drive(adapter, command(products=[{"name": "Keripik", "ingredients": ["singkong", "perisa ayam"]}]), uuid.uuid4())
    assert returned[-1].status is Status.NEEDS_REVISION
    assert returned[-1].outputs["corrections"][0]["field"] == "products.0.ingredients.1"

    fixed = await drive(
        adapter, command(products=[{"name": "Keripik", "ingredients": ["singkong", "perisa ayam (ID13110000123450124)"]}]), uuid.uuid4()
    )
    assert fixed[-1].status is Status.COMPLETED


async def test_a_repeated_submission_is_applied_once_with_the_same_answer(simulated: tuple[BpjphAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    await execute_twice(adapter, command(), STEP_ID, control)


async def test_the_simulators_taxpayer_refusal_is_a_rejection(simulated: tuple[BpjphAdapter, httpx.AsyncClient]) -> None:
    adapter, control = simulated
    with pytest.raises(AgencyRejection) as caught:
        await adapter.execute(command(**{**KSWP, "taxpayer_status": "TIDAK_VALID"}), STEP_ID)
    assert (caught.value.code, caught.value.agency_code) == ("taxpayer_status_invalid", "STATUS_WP_TIDAK_VALID")
    assert (await control.get("/_sim/ledger")).json()["applied"] == 0


async def test_a_wrong_api_key_fails_the_step_as_a_configuration_problem() -> None:
    app = create_app(api_key="the-real-key")
    async with against_simulator(app, lambda t: BpjphAdapter(settings(), transport=t)) as adapter:
        with pytest.raises(AgencyAnswerInvalid) as caught:
            await adapter.execute(command(), STEP_ID)
    assert (caught.value.code, caught.value.agency_code) == ("agency_auth_failed", "API_KEY_TIDAK_VALID")


async def test_every_contract_sample_reaches_its_expected_status_against_the_simulator() -> None:
    """What the contract kit will check, run here so a broken sample fails early."""
    declared = contract()
    app = create_app(api_key=declared.simulator_options.secrets["api_key"])
    adapter = BpjphAdapter(declared.backend_settings("http://sihalal.test", "http://hub.test"), transport=httpx.ASGITransport(app=app))
    try:
        for sample in declared.samples:
            try:
                final = (await drive_any(adapter, sample.command))[-1]
                got = (final.status, final.error.code if final.error else None)
            except AgencyRejection as exc:
                got = (Status.REJECTED, exc.code)
            assert got == (sample.expect, sample.expect_error_code), sample.name
    finally:
        await adapter.aclose()
        app.state.simulator.runtime.ledger.close()
    assert {s.expect for s in declared.samples} >= {Status.COMPLETED, Status.REJECTED}


async def drive_any(adapter: BpjphAdapter, cmd: StepCommand) -> list[Any]:
    step = uuid.uuid4()
    reports = [await adapter.execute(cmd, step)]
    while not reports[-1].status.is_terminal and reports[-1].status is not Status.NEEDS_REVISION:
        reports.append(await adapter.poll(cmd, step, reports[0].agency_ref or ""))
    return reports
