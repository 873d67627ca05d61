"""Specification of the Polri adapter (adapters/polri/adapter.py).

Polri is a CALLBACK backend: ``execute`` files the application and reports ACCEPTED
with Polri's registration number; the verdict comes later through the hub's callback
endpoint and ``translate_callback``. The backend is the SDK's recording transport (each
test states what Polri answers) or, for the round trips, the simulator itself. Whatever
Polri says, the adapter returns a report or raises one of the SDK's outcome errors.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.polri import plugin as polri_plugin
from adapters.polri.adapter import PolriAdapter
from adapters.polri.contract import contract
from adapters.polri.native import PemberitahuanStatus, PermohonanCekFisik, PermohonanPerpanjanganSim, PermohonanSkck
from adapters.polri.simulator import DEV_CALLBACK_SECRET, WIB, PolriKnobs, create_app, register_kendaraan
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings, Capability, TransientBackendError
from adapters.sdk.base import BackendStyle
from adapters.sdk.callbacks import SIGNATURE_HEADER, verify
from adapters.sdk.runtime.worker import AdapterWorker
from adapters.sdk.testing.recording import OUTAGES, Handler, RecordedAdapters, RecordingTransport, answer, recorded_adapters
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, Applicant, StepCommand
from schemas.services.polri import SimRenewalOutput, SkckOutput, VehicleCheckOutput
from schemas.services.samsat import OwnershipTransferInput
from support.samples import NIK, STEP_ID

HUB = "http://hub.test:8000"
CALLBACK_URL = f"{HUB}/v1/callbacks/polri/{STEP_ID}"
REG = "POLRES-BKT/SKCK/20260114/000001"

SKCK_DATA = {"purpose": "Melamar pekerjaan", "address": "Jl. Sudirman No. 5, Bukittinggi"}
RENEWAL_DATA = {**SKCK_DATA, "old_skck_number": "skck/yanmas/01234/III/2025/intelkam", "old_skck_valid_until": "2025-09-01"}
SIM_DATA = {"licence_class": "B1", "old_sim_number": "1375-0123-4567", "old_valid_until": "2026-02-01"}
# As typed at the counter: lower case, spaces and dashes; the canonical input normalises them.
VEHICLE_DATA = {"plate": "ba 2024 la", "vehicle_type": "car", "chassis_number": "mhwm7eentvk71lax6", "engine_number": "YKE-256-8643"}
CEK_FISIK = {
    "nomor_surat_keterangan": "SKET/RANMOR/00001/I/2026/RESKRIM",
    "nopol": "BA 2024 LA",
    "nomor_rangka": "MHWM7EENTVK71LAX6",
    "nomor_mesin": "YKE2568643",
    "tanggal_periksa": "2026-01-14",
    "status_ranmor": "BERSIH",
}


def command(operation: str = "skck_new", data: dict[str, Any] | None = None, nik: str = NIK) -> StepCommand:
    defaults = {"skck_new": SKCK_DATA, "skck_renewal": RENEWAL_DATA, "sim_renewal": SIM_DATA, "vehicle_check": VEHICLE_DATA}
    return StepCommand(
        service=f"polri.{operation}",
        operation=operation,
        applicant=Applicant(nik=nik, name="Siti Rahmah"),
        data=defaults[operation] if data is None else data,
    )


def receipt(layanan: str = "SKCK_BARU", **changes: Any) -> dict[str, Any]:
    return {"status": "DITERIMA", "nomor_registrasi": REG, "layanan": layanan, "diterima_pada": "2026-01-14T09:30:00+07:00", **changes}


def settings(**changes: Any) -> BackendSettings:
    values: dict[str, Any] = {
        "base_url": "http://polri.test",
        "timeout_seconds": 0.5,
        "callback_base_url": HUB,
        "callback_secret": "rahasia",
        **changes,
    }
    return BackendSettings.model_validate({k: v for k, v in values.items() if v is not None})


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[PolriAdapter, RecordingTransport]]:
    async with recorded_adapters(lambda transport: PolriAdapter(settings(), transport=transport)) as make:
        yield make


@pytest.fixture
async def adapter() -> AsyncIterator[PolriAdapter]:
    """For translate_callback, which never calls Polri."""
    instance = PolriAdapter(settings(), transport=RecordingTransport(answer(500)))
    yield instance
    await instance.aclose()


def callback(body: dict[str, Any] | str) -> AgencyCallback:
    return AgencyCallback(content_type="application/json", body=body if isinstance(body, str) else json.dumps(body))


def notice(status: str = "TERBIT", layanan: str = "SKCK_BARU", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nomor_registrasi": REG,
        "id_permintaan": str(STEP_ID),
        "layanan": layanan,
        "status": status,
        "waktu": "2026-01-14T09:30:02+07:00",
    }
    if status == "TERBIT" and layanan == "CEK_FISIK_KENDARAAN":
        body["cek_fisik"] = dict(CEK_FISIK)
    elif status == "TERBIT" and layanan == "SIM_PERPANJANGAN":
        body["sim"] = {
            "nomor_sim": "26011375000001",
            "golongan_sim": "BI",
            "tanggal_terbit": "2026-01-14",
            "berlaku_sampai": "2031-01-14",
            "biaya_pnbp": 80_000,
        }
    elif status == "TERBIT":
        body["skck"] = {
            "nomor_skck": "SKCK/YANMAS/00001/I/2026/INTELKAM",
            "tanggal_terbit": "2026-01-14",
            "berlaku_sampai": "2026-07-14",
            "biaya_pnbp": 30_000,
        }
    elif status == "DITOLAK":
        body["penolakan"] = {"kode_alasan": "CATATAN_KRIMINAL", "alasan": "Pemohon memiliki catatan kriminal."}
    elif status == "DIPROSES":
        body["tahap"] = "KOORDINASI_CATATAN"
    return body | changes


# --- what the adapter is --------------------------------------------------------


def test_polri_is_a_callback_backend_with_five_operations() -> None:
    assert PolriAdapter.agency == "polri"
    assert PolriAdapter.style is BackendStyle.CALLBACK
    assert PolriAdapter.operations == {"skck_new", "skck_renewal", "sim_renewal", "vehicle_check", "loss_report"}
    assert PolriAdapter.capabilities == {Capability.CALLBACK}, "Polri calls back; it is neither polled nor cancelled"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"callback_secret": None}, ["MPP_AGENCIES__POLRI__CALLBACK_SECRET"]),
        ({"callback_base_url": None}, ["MPP_AGENCIES__POLRI__CALLBACK_BASE_URL"]),
        ({"callback_base_url": None, "callback_secret": None}, ["CALLBACK_BASE_URL", "CALLBACK_SECRET"]),
    ],
)
def test_the_adapter_refuses_to_start_without_callback_settings(missing: dict[str, Any], named: list[str]) -> None:
    with pytest.raises(AdapterSettingsError) as raised:
        polri_plugin.adapter(settings(**missing))
    for name in named:
        assert name in str(raised.value)
    assert "rahasia" not in str(raised.value), "the secret is never echoed"


def test_a_blank_callback_secret_is_refused_before_any_adapter_exists() -> None:
    """Anyone could sign with an empty key: the SDK's settings refuse it for every agency."""
    with pytest.raises(ValidationError) as raised:
        settings(callback_secret="")
    assert [e["loc"] for e in raised.value.errors()] == [("callback_secret",)]


# --- canonical -> native --------------------------------------------------------


async def test_a_new_skck_becomes_a_native_baru_application_with_the_callback_url(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt()))
    await adapter.execute(command("skck_new"), STEP_ID)

    [request] = backend.requests
    assert request.method == "POST"
    assert request.url == httpx.URL("http://polri.test/api/v1/skck/permohonan")
    body = json.loads(request.content)
    assert body == {
        "jenis_permohonan": "BARU",
        "nik": NIK,
        "nama_lengkap": "Siti Rahmah",
        "alamat_domisili": "Jl. Sudirman No. 5, Bukittinggi",
        "keperluan": "Melamar pekerjaan",
        "callback_url": CALLBACK_URL,
    }
    PermohonanSkck.model_validate(body)  # Polri's strict schema accepts it


async def test_an_skck_renewal_carries_the_old_skck(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt("SKCK_PERPANJANGAN")))
    await adapter.execute(command("skck_renewal"), STEP_ID)
    body = json.loads(backend.requests[0].content)
    assert body["jenis_permohonan"] == "PERPANJANGAN"
    assert body["nomor_skck_lama"] == "SKCK/YANMAS/01234/III/2025/INTELKAM"  # normalised upper case
    assert body["masa_berlaku_skck_lama"] == "2025-09-01"
    PermohonanSkck.model_validate(body)


async def test_a_sim_renewal_uses_polri_class_names_and_bare_digits(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt("SIM_PERPANJANGAN")))
    await adapter.execute(command("sim_renewal"), STEP_ID)
    [request] = backend.requests
    assert request.url.path == "/api/v1/sim/perpanjangan"
    body = json.loads(request.content)
    assert body == {
        "nik": NIK,
        "nama_lengkap": "Siti Rahmah",
        "golongan_sim": "BI",
        "nomor_sim_lama": "137501234567",
        "masa_berlaku_sim_lama": "2026-02-01",
        "callback_url": CALLBACK_URL,
    }
    PermohonanPerpanjanganSim.model_validate(body)


async def test_a_vehicle_check_sends_the_rubbed_numbers_with_polri_vehicle_names(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt("CEK_FISIK_KENDARAAN")))
    report = await adapter.execute(command("vehicle_check"), STEP_ID)

    [request] = backend.requests
    assert request.url.path == "/api/v1/kendaraan/cek-fisik"
    sent = PermohonanCekFisik.model_validate_json(request.content)  # Polri's own schema
    assert json.loads(request.content) == {
        "nik": NIK,
        "nama_lengkap": "Siti Rahmah",
        "nopol": "BA 2024 LA",
        "jenis_kendaraan": "MOBIL",
        "nomor_rangka": "MHWM7EENTVK71LAX6",
        "nomor_mesin": "YKE2568643",
        "callback_url": CALLBACK_URL,
    }
    assert sent.layanan == "CEK_FISIK_KENDARAAN"
    assert report.status is Status.ACCEPTED


async def test_a_motorcycle_is_a_motor_for_polri(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt("CEK_FISIK_KENDARAAN")))
    await adapter.execute(command("vehicle_check", {**VEHICLE_DATA, "vehicle_type": "motorcycle"}), STEP_ID)
    assert json.loads(backend.requests[0].content)["jenis_kendaraan"] == "MOTOR"


async def test_a_receipt_for_another_service_than_the_vehicle_check_is_invalid(make_adapter) -> None:
    adapter, _ = make_adapter(answer(202, receipt("SKCK_BARU")))
    with pytest.raises(AgencyAnswerInvalid) as raised:
        await adapter.execute(command("vehicle_check"), STEP_ID)
    assert raised.value.code == "agency_answer_invalid"


async def test_the_step_id_is_the_request_id_and_names_the_callback(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt()))
    other = uuid.uuid4()
    await adapter.execute(command(), STEP_ID)
    await adapter.execute(command(), other)
    first, second = backend.requests
    assert first.headers["X-Request-Id"] == str(STEP_ID)
    assert second.headers["X-Request-Id"] == str(other)
    assert json.loads(second.content)["callback_url"].endswith(f"/v1/callbacks/polri/{other}")


async def test_input_that_does_not_match_the_service_fails_without_calling_polri(make_adapter) -> None:
    adapter, backend = make_adapter(answer(202, receipt()))
    with pytest.raises(AgencyAnswerInvalid) as raised:
        await adapter.execute(command("sim_renewal", {"licence_class": "Z", "old_sim_number": "1", "old_valid_until": "x"}), STEP_ID)
    assert raised.value.code == "invalid_step_input"
    assert backend.requests == []


# --- the receipt ------------------------------------------------------------------


async def test_a_receipt_is_accepted_with_the_registration_number_as_agency_ref(make_adapter) -> None:
    adapter, _ = make_adapter(answer(202, receipt()))
    report = await adapter.execute(command(), STEP_ID)
    assert report.status is Status.ACCEPTED
    assert report.agency_ref == REG
    assert report.agency_status == "DITERIMA"
    assert report.outputs == {} and report.error is None
    assert report.poll_after_seconds is None, "Polri calls back; nobody polls"


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (answer(202, raw=b"<html><body>Permohonan diterima</body></html>", headers={"content-type": "text/html"}), "agency_answer_invalid"),
        (answer(202, {"status": "DITERIMA", "layanan": "SKCK_BARU"}), "agency_answer_invalid"),
        (answer(202, receipt(nomor_registrasi="")), "agency_answer_invalid"),
        (answer(202, [receipt()]), "agency_answer_invalid"),
        (answer(202, receipt(status="SELESAI")), "agency_status_unknown"),
        (answer(202, receipt("SIM_PERPANJANGAN")), "agency_answer_invalid"),
        (answer(200, receipt()), "agency_answer_invalid"),
    ],
    ids=["not-json", "missing-number", "empty-number", "not-an-object", "unknown-status", "other-service", "200-not-202"],
)
async def test_a_receipt_that_makes_no_sense_is_an_invalid_answer(make_adapter, handler: Handler, code: str) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(AgencyAnswerInvalid) as raised:
        await adapter.execute(command(), STEP_ID)
    assert raised.value.code == code


# --- synchronous errors -----------------------------------------------------------


def galat(kode: str, pesan: str = "ditolak") -> dict[str, Any]:
    return {"status": "GAGAL", "kode": kode, "pesan": pesan}


@pytest.mark.parametrize(
    ("handler", "retry_after"),
    [
        (answer(503, galat("LAYANAN_SIBUK"), headers={"Retry-After": "1"}), 1.0),
        (answer(503, galat("LAYANAN_TIDAK_TERSEDIA")), None),
        (answer(504, galat("GATEWAY_TIMEOUT")), None),
        *((outage, None) for outage in OUTAGES.values()),
    ],
    ids=["busy", "down", "gateway-timeout", *OUTAGES],
)
async def test_outages_are_transient(make_adapter, handler: Handler, retry_after: float | None) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(TransientBackendError) as raised:
        await adapter.execute(command(), STEP_ID)
    assert raised.value.retry_after == retry_after


async def test_the_daily_quota_is_a_refusal(make_adapter) -> None:
    adapter, _ = make_adapter(
        answer(429, galat("KUOTA_HARIAN_HABIS", "Kuota layanan hari ini sudah habis."), headers={"Retry-After": "3600"})
    )
    with pytest.raises(AgencyRejection) as raised:
        await adapter.execute(command(), STEP_ID)
    assert (raised.value.code, raised.value.agency_code) == ("agency_quota_exhausted", "KUOTA_HARIAN_HABIS")


@pytest.mark.parametrize(
    ("handler", "code", "agency_code"),
    [
        (answer(409, galat("REQUEST_ID_BENTROK")), "agency_idempotency_conflict", "REQUEST_ID_BENTROK"),
        (answer(422, {**galat("DATA_TIDAK_VALID"), "rincian": ["nik: pattern"]}), "agency_refused_request", "DATA_TIDAK_VALID"),
        (answer(400, galat("REQUEST_ID_WAJIB")), "agency_refused_request", "REQUEST_ID_WAJIB"),
        (answer(404, raw=b"Not Found"), "agency_answer_invalid", None),
        (answer(400, {"status": "GAGAL", "kode": "KODE_BARU", "pesan": "?"}), "agency_answer_invalid", None),
    ],
    ids=["key-conflict", "invalid-data", "missing-key", "unreadable", "unknown-error-code"],
)
async def test_other_errors_are_invalid_answers(make_adapter, handler: Handler, code: str, agency_code: str | None) -> None:
    adapter, _ = make_adapter(handler)
    with pytest.raises(AgencyAnswerInvalid) as raised:
        await adapter.execute(command(), STEP_ID)
    assert (raised.value.code, raised.value.agency_code) == (code, agency_code)


# --- native callback -> canonical ---------------------------------------------------


def test_an_issued_skck_completes_with_canonical_outputs(adapter: PolriAdapter) -> None:
    report = adapter.translate_callback(callback(notice("TERBIT")), STEP_ID)
    assert report.status is Status.COMPLETED
    assert report.agency_status == "TERBIT"
    assert report.agency_ref == REG
    assert report.outputs == {
        "skck_number": "SKCK/YANMAS/00001/I/2026/INTELKAM",
        "issued_on": "2026-01-14",
        "valid_until": "2026-07-14",
        "fee": 30_000,
        "registration_number": REG,
    }
    SkckOutput.model_validate(report.outputs)


def test_an_issued_sim_completes_with_the_canonical_class(adapter: PolriAdapter) -> None:
    report = adapter.translate_callback(callback(notice("TERBIT", "SIM_PERPANJANGAN")), STEP_ID)
    assert report.status is Status.COMPLETED
    output = SimRenewalOutput.model_validate(report.outputs)
    assert output.licence_class == "B1"
    assert (output.sim_number, output.fee, str(output.valid_until)) == ("26011375000001", 80_000, "2031-01-14")


def test_a_passed_vehicle_check_completes_with_samsats_physical_check_shape(adapter: PolriAdapter) -> None:
    report = adapter.translate_callback(callback(notice("TERBIT", "CEK_FISIK_KENDARAAN")), STEP_ID)
    assert report.status is Status.COMPLETED
    assert report.outputs == {
        "plate": "BA 2024 LA",
        "physical_check": {"chassis_number": "MHWM7EENTVK71LAX6", "engine_number": "YKE2568643"},
        "clearance_number": "SKET/RANMOR/00001/I/2026/RESKRIM",
        "checked_on": "2026-01-14",
        "stolen_or_blocked": False,
        "registration_number": REG,
    }
    VehicleCheckOutput.model_validate(report.outputs)
    assert polri_plugin.payloads()["polri.vehicle_check"].output is VehicleCheckOutput
    # The output goes straight into the ownership transfer step, unchanged.
    transfer = {
        "plate": "BA 2024 LA", "vehicle_type": "car", "previous_owner_nik": NIK, "bpkb_number": "P12345678",
        "sale_receipt_number": "KW/2026/0142", "sale_receipt_stamped": True, "physical_check": report.outputs["physical_check"],
    }  # fmt: skip
    assert OwnershipTransferInput.model_validate(transfer).physical_check.engine_number == "YKE2568643"


@pytest.mark.parametrize(
    "cek_fisik",
    [
        {**CEK_FISIK, "status_ranmor": "DIBLOKIR"},
        {k: v for k, v in CEK_FISIK.items() if k != "nomor_rangka"},
        {**CEK_FISIK, "nomor_rangka": "MHWM7EENTVK71LAX"},  # 16 characters: not a VIN
    ],
    ids=["clearance-for-a-blocked-vehicle", "no-chassis-number", "short-vin"],
)
def test_a_vehicle_clearance_that_makes_no_sense_is_an_invalid_answer(adapter: PolriAdapter, cek_fisik: dict[str, Any]) -> None:
    with pytest.raises(AgencyAnswerInvalid) as raised:
        adapter.translate_callback(callback(notice("TERBIT", "CEK_FISIK_KENDARAAN", cek_fisik=cek_fisik)), STEP_ID)
    assert raised.value.code == "agency_callback_invalid"


def test_a_vehicle_clearance_on_an_skck_is_an_invalid_answer(adapter: PolriAdapter) -> None:
    with pytest.raises(AgencyAnswerInvalid) as raised:
        adapter.translate_callback(callback(notice("TERBIT", "SKCK_BARU", cek_fisik=dict(CEK_FISIK))), STEP_ID)
    assert raised.value.code == "agency_callback_invalid"


def test_diproses_is_in_process(adapter: PolriAdapter) -> None:
    report = adapter.translate_callback(callback(notice("DIPROSES")), STEP_ID)
    assert (report.status, report.agency_status, report.outputs, report.error) == (Status.IN_PROCESS, "DIPROSES", {}, None)


def test_diterima_in_a_callback_is_accepted(adapter: PolriAdapter) -> None:
    report = adapter.translate_callback(callback(notice("DITERIMA")), STEP_ID)
    assert report.status is Status.ACCEPTED


@pytest.mark.parametrize(
    ("kode", "code"),
    [
        ("CATATAN_KRIMINAL", "police_record_hit"),
        ("SKCK_LAMA_TIDAK_DITEMUKAN", "previous_skck_not_found"),
        ("SKCK_LAMA_KADALUARSA", "previous_skck_expired"),
        ("SIM_TIDAK_DITEMUKAN", "licence_not_found"),
        ("SIM_KADALUARSA", "licence_expired"),
        ("KENDARAAN_DIBLOKIR", "vehicle_blocked"),
        ("CEK_FISIK_TIDAK_SESUAI", "physical_check_mismatch"),
        ("NOPOL_TIDAK_TERDAFTAR", "vehicle_not_registered"),
        ("ALASAN_BARU_2027", "agency_rejected"),
    ],
)
def test_a_refusal_is_rejected_with_the_reason(adapter: PolriAdapter, kode: str, code: str) -> None:
    body = notice("DITOLAK", penolakan={"kode_alasan": kode, "alasan": "Alasan dari Polri."})
    report = adapter.translate_callback(callback(body), STEP_ID)
    assert report.status is Status.REJECTED
    assert report.error is not None
    assert (report.error.code, report.error.agency_code, report.error.message) == (code, kode, "Alasan dari Polri.")
    assert report.outputs == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("<html>502 Bad Gateway</html>", "agency_callback_invalid"),
        ("", "agency_callback_invalid"),
        ("[1, 2]", "agency_callback_invalid"),
        (notice("DITANGGUHKAN"), "agency_status_unknown"),
        ({k: v for k, v in notice().items() if k != "status"}, "agency_status_unknown"),
        (notice(status=["TERBIT"]), "agency_status_unknown"),
        ({k: v for k, v in notice().items() if k != "skck"}, "agency_callback_invalid"),
        (notice("DITOLAK", penolakan=None), "agency_callback_invalid"),
        (notice("TERBIT", "SIM_PERPANJANGAN", sim={"nomor_sim": "12"}), "agency_callback_invalid"),
        (notice(layanan="PASPOR"), "agency_callback_invalid"),
        (notice(id_permintaan=str(uuid.uuid4())), "agency_callback_mismatch"),
        (
            notice(skck={"nomor_skck": "S/1", "tanggal_terbit": "2026-01-14", "berlaku_sampai": "2025-07-14", "biaya_pnbp": 30_000}),
            "agency_answer_invalid",
        ),
    ],
    ids=[
        "html",
        "empty",
        "array",
        "unknown-status",
        "no-status",
        "status-not-a-string",
        "issued-without-document",
        "refused-without-reason",
        "bad-sim-document",
        "unknown-service",
        "other-step",
        "expires-before-issue",
    ],
)
def test_a_callback_that_makes_no_sense_is_an_invalid_answer(adapter: PolriAdapter, body: Any, code: str) -> None:
    with pytest.raises(AgencyAnswerInvalid) as raised:
        adapter.translate_callback(callback(body), STEP_ID)
    assert raised.value.code == code


def test_an_unknown_status_is_named_in_the_error(adapter: PolriAdapter) -> None:
    with pytest.raises(AgencyAnswerInvalid) as raised:
        adapter.translate_callback(callback(notice("DITANGGUHKAN")), STEP_ID)
    assert "DITANGGUHKAN" in raised.value.message
    assert raised.value.agency_code == "DITANGGUHKAN"


def test_error_messages_never_carry_a_nik(adapter: PolriAdapter) -> None:
    body = notice() | {"nik": NIK}  # an unexpected field holding personal data
    with pytest.raises(AgencyAnswerInvalid) as raised:
        adapter.translate_callback(callback(body), STEP_ID)
    assert NIK not in raised.value.message


async def test_the_worker_turns_an_unreadable_callback_into_failed(adapter: PolriAdapter) -> None:
    worker = AdapterWorker(adapter, producer=None)  # type: ignore[arg-type]  # _translate_callback never publishes
    report = worker._translate_callback(callback("not json"), STEP_ID)
    assert report.status is Status.FAILED
    assert report.error is not None and report.error.code == "agency_callback_invalid"


# --- round trip through the simulator -------------------------------------------------


@asynccontextmanager
async def simulated(
    secret: str = DEV_CALLBACK_SECRET, backend: BackendSettings | None = None, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[tuple[PolriAdapter, RecordingTransport]]:
    """The adapter on a simulator that delivers its verdicts at once to a recording hub;
    leaving waits for every delivery, then closes both."""
    hub = RecordingTransport(answer(202, {"accepted": True}))
    app = create_app(PolriKnobs(verdict_delay_ms=0), callback_secret=secret, clock=clock, callback_transport=hub)
    polri = PolriAdapter(backend or settings(), transport=httpx.ASGITransport(app=app))
    try:
        yield polri, hub
        await app.state.polri.menunggu_pengiriman()
    finally:
        await polri.aclose()
        await app.state.polri.aclose()


async def test_round_trip_through_the_simulator_from_application_to_signed_verdict() -> None:
    """The adapter's request is accepted by the real simulator, whose signed callback
    verifies with the shared secret and translates to a completed, canonical SIM."""
    async with simulated("rahasia", clock=lambda: datetime(2026, 1, 14, 9, 0, tzinfo=WIB)) as (polri, hub):
        accepted = await polri.execute(command("sim_renewal"), STEP_ID)
        replayed = await polri.execute(command("sim_renewal"), STEP_ID)  # a redelivered command

    assert accepted.status is Status.ACCEPTED
    assert replayed.agency_ref == accepted.agency_ref, "Polri replays the stored receipt"
    [request] = hub.requests
    assert str(request.url) == CALLBACK_URL
    verify("rahasia", STEP_ID, request.content, request.headers[SIGNATURE_HEADER])
    PemberitahuanStatus.model_validate_json(request.content)
    report = polri.translate_callback(callback(request.content.decode()), STEP_ID)
    assert report.status is Status.COMPLETED
    assert report.agency_ref == accepted.agency_ref
    output = SimRenewalOutput.model_validate(report.outputs)
    assert (output.licence_class, output.fee, str(output.valid_until)) == ("B1", 80_000, "2031-01-14")


async def test_round_trip_of_a_record_hit_goes_in_process_then_rejected() -> None:
    async with simulated() as (polri, hub):
        await polri.execute(command("skck_new", nik="1375010101900013"), STEP_ID)

    reports = [polri.translate_callback(callback(r.content.decode()), STEP_ID) for r in hub.requests]
    assert [r.status for r in reports] == [Status.IN_PROCESS, Status.REJECTED]
    assert reports[1].error is not None and reports[1].error.code == "police_record_hit"


@pytest.mark.parametrize(
    ("plate", "changes", "statuses", "code"),
    [
        ("BA 2024 LA", {}, [Status.COMPLETED], None),
        ("BA 1313 LA", {}, [Status.IN_PROCESS, Status.REJECTED], "vehicle_blocked"),
        ("BA 2024 LA", {"chassis_number": "MH1JFZ130KK123456"}, [Status.REJECTED], "physical_check_mismatch"),
        (
            "BA 9001 LA",
            {"chassis_number": "MH1JFZ130KK123456", "engine_number": "JFZ1E1234567"},
            [Status.REJECTED],
            "vehicle_not_registered",
        ),
    ],
    ids=["clean", "reported-stolen", "chassis-differs", "not-registered"],
)
async def test_round_trip_of_vehicle_checks(plate: str, changes: dict[str, str], statuses: list[Status], code: str | None) -> None:
    register = register_kendaraan(plate) or ("", "")
    data = {"plate": plate, "vehicle_type": "car", "chassis_number": register[0], "engine_number": register[1], **changes}
    async with simulated() as (polri, hub):
        accepted = await polri.execute(command("vehicle_check", data), STEP_ID)

    assert accepted.status is Status.ACCEPTED
    assert accepted.agency_ref is not None and accepted.agency_ref.startswith("POLRES-BKT/RANMOR/")
    reports = [polri.translate_callback(callback(r.content.decode()), STEP_ID) for r in hub.requests]
    assert [r.status for r in reports] == statuses
    assert (reports[-1].error.code if reports[-1].error else None) == code
    if code is None:
        assert reports[-1].outputs["physical_check"] == {"chassis_number": register[0], "engine_number": register[1]}


async def test_every_contract_sample_reaches_its_expected_status_against_the_simulator() -> None:
    """What the contract kit will check, run here so a broken sample fails early."""
    declared = contract()
    secret = declared.simulator_options.secrets["callback_secret"]
    for sample in declared.samples:
        step_id = uuid.uuid4()
        async with simulated(secret, declared.backend_settings("http://polri.test", HUB)) as (polri, hub):
            report = await polri.execute(sample.command, step_id)
        for request in hub.requests:
            assert str(request.url) == f"{HUB}/v1/callbacks/polri/{step_id}"
            verify(secret, step_id, request.content, request.headers[SIGNATURE_HEADER])
            report = polri.translate_callback(callback(request.content.decode()), step_id)
        assert report.status is sample.expect, sample.name
        assert (report.error.code if report.error else None) == sample.expect_error_code, sample.name
    assert {s.command.operation for s in declared.samples if s.expect is Status.COMPLETED} == PolriAdapter.operations
    assert any(s.expect is Status.REJECTED for s in declared.samples)


def test_the_contract_dates_its_samples_on_the_counters_day_not_the_machines() -> None:
    """From 17:00 UTC the machine's date is still yesterday at a WIB counter: a loss
    "dated tomorrow" by the machine's calendar would be today's at the counter."""
    [tomorrow] = [s for s in contract().samples if s.name == "loss_report_dated_tomorrow"]
    assert tomorrow.command.data["lost_on"] == (datetime.now(WIB).date() + timedelta(days=1)).isoformat()
