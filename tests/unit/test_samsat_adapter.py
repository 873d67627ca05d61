"""Specification of the Samsat adapter (adapters/samsat/adapter.py).

The backend is replaced by the SDK's recording transport: each test states what Samsat
answers and what canonical outcome the adapter must make of it. The last tests run
the adapter against the simulator itself, and its contract through the generic kit. Whatever Samsat
says, the adapter returns a report or raises one of the SDK's outcome errors; it
never crashes with anything else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from adapters.samsat import plugin as samsat_plugin
from adapters.samsat.adapter import SamsatAdapter
from adapters.samsat.contract import contract, ownership_transfer_command, pkb_command, stnk_5year_command
from adapters.samsat.native import (
    HEADER_IDEMPOTENCY_KEY,
    PATH_BALIK_NAMA,
    PATH_PENGESAHAN,
    PATH_PERPANJANGAN_LIMA_TAHUNAN,
    PermohonanBalikNama,
    PermohonanPengesahan,
    PermohonanPerpanjanganLimaTahunan,
)
from adapters.samsat.simulator import WIB, create_app
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.testing.client import against_simulator
from adapters.sdk.testing.contract_kit import ContractKit
from adapters.sdk.testing.recording import RecordedAdapters, RecordingTransport, answer, fail_with, recorded_adapters
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand
from schemas.services.samsat import OwnershipTransferOutput, PkbAnnualOutput, Stnk5YearOutput

NIK = "1375015203900007"
STEP_ID = uuid.UUID("3f1e2d3c-4b5a-4697-8877-665544332211")

SUCCESS: dict[str, Any] = {
    "status": "BERHASIL",
    "nopol": "BA 1234 LZ",
    "kode_bayar": "820260114000123",
    "rincian": {"pkb": 2_000_000, "swdkllj": 143_000, "biaya_pengesahan": 50_000},
    "total_bayar": 2_193_000,
    "berlaku_sampai": "2027-01-14",
    "tanggal_pengesahan": "2026-01-14",
    "no_transaksi": "SMS-2026-000123",
}


def command(plate: str = "BA 1234 LZ", vehicle_type: str = "car", nik: str = NIK) -> StepCommand:
    return StepCommand(
        service="samsat.pkb_annual",
        operation="pkb_annual",
        applicant=Applicant(nik=nik, name="Siti Rahmah"),
        data={"plate": plate, "vehicle_type": vehicle_type},
    )


def galat(kode: str, pesan: str = "ditolak") -> dict[str, Any]:
    return {"status": "GAGAL", "kode_error": kode, "pesan": pesan}


@pytest.fixture
async def make_adapter() -> AsyncIterator[RecordedAdapters[SamsatAdapter, RecordingTransport]]:
    settings = BackendSettings(base_url="http://samsat.test", timeout_seconds=0.5)
    async with recorded_adapters(lambda transport: SamsatAdapter(settings, transport=transport)) as make:
        yield make


# --- canonical -> native --------------------------------------------------------


async def test_translates_a_car_to_samsat_native_request(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, SUCCESS))
    await adapter.execute(command(plate="ba-1234-lz", vehicle_type="car"), STEP_ID)

    [request] = backend.requests
    assert request.method == "POST"
    assert request.url == httpx.URL("http://samsat.test" + PATH_PENGESAHAN)
    body = json.loads(request.content)
    assert body == {"nopol": "BA 1234 LZ", "nik_pemilik": NIK, "jenis_kendaraan": "MOBIL"}
    PermohonanPengesahan.model_validate(body)  # Samsat's strict schema accepts it


async def test_translates_a_motorcycle_to_motor(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, {**SUCCESS, "nopol": "BA 4321 LQ"}))
    await adapter.execute(command(plate="BA 4321 LQ", vehicle_type="motorcycle", nik="1375.0152.0390.0007"), STEP_ID)
    body = json.loads(backend.requests[0].content)
    assert body == {"nopol": "BA 4321 LQ", "nik_pemilik": NIK, "jenis_kendaraan": "MOTOR"}


async def test_sends_the_step_id_as_idempotency_key(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, SUCCESS))
    await adapter.execute(command(), STEP_ID)
    other = uuid.uuid4()
    await adapter.execute(command(), other)
    assert [r.headers[HEADER_IDEMPOTENCY_KEY] for r in backend.requests] == [str(STEP_ID), str(other)]


async def test_step_input_that_does_not_match_the_service_never_reaches_samsat(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, SUCCESS))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(vehicle_type="truck"), STEP_ID)
    assert exc.value.code == "invalid_step_input"
    assert backend.requests == []


# --- native -> canonical: success -------------------------------------------


async def test_success_becomes_a_completed_report_with_canonical_outputs(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, SUCCESS))
    report = await adapter.execute(command(), STEP_ID)

    assert report.status is Status.COMPLETED
    assert report.error is None
    assert report.agency_status == "BERHASIL"
    output = PkbAnnualOutput.model_validate(report.outputs)
    assert output.billing_code == "820260114000123"
    assert output.amount == 2_193_000
    assert (output.breakdown.pkb, output.breakdown.swdkllj, output.breakdown.endorsement_fee) == (2_000_000, 143_000, 50_000)
    assert output.stnk_valid_until.isoformat() == "2027-01-14"
    assert output.agency_reference == "SMS-2026-000123"


async def test_completed_outputs_are_json_ready(make_adapter) -> None:
    """Outputs travel in the envelope payload, so they must already be JSON values."""
    adapter, _ = make_adapter(answer(200, SUCCESS))
    report = await adapter.execute(command(), STEP_ID)
    assert json.loads(json.dumps(report.outputs)) == report.outputs
    assert report.outputs["stnk_valid_until"] == "2027-01-14"


# --- native -> canonical: refusals on the merits -------------------------------


@pytest.mark.parametrize(
    ("status", "kode", "outcome", "code"),
    [
        (404, "NOPOL_TIDAK_TERDAFTAR", AgencyRejection, "plate_not_registered"),
        (409, "NIK_TIDAK_SESUAI", AgencyRejection, "owner_mismatch"),
        # A reused key is a hub bug, not the citizen's fault: FAILED with Samsat's code for support.
        (409, "KUNCI_SUDAH_DIPAKAI", AgencyAnswerInvalid, "agency_refused_request"),
    ],
    ids=["unregistered-plate", "not-the-owner", "key-reused"],
)
async def test_known_errors_keep_samsats_code_and_words_and_only_refusals_on_the_merits_are_rejections(
    make_adapter, status: int, kode: str, outcome: type[Exception], code: str
) -> None:
    adapter, _ = make_adapter(answer(status, galat(kode, "Pesan dari Samsat.")))
    with pytest.raises(outcome) as exc:
        await adapter.execute(command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code, exc.value.message) == (code, kode, "Pesan dari Samsat.")  # type: ignore[attr-defined]


# --- transient failures -------------------------------------------------------------


async def test_503_with_retry_after_is_transient_and_keeps_the_delay(make_adapter) -> None:
    adapter, _ = make_adapter(answer(503, galat("SISTEM_SIBUK"), headers={"Retry-After": "7"}))
    with pytest.raises(TransientBackendError) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.retry_after == 7.0


@pytest.mark.parametrize("retry_after", [None, "Wed, 21 Oct 2026 07:28:00 GMT", "soon"])
async def test_503_without_a_numeric_retry_after_is_transient_without_delay(make_adapter, retry_after) -> None:
    headers = {"Retry-After": retry_after} if retry_after else None
    adapter, _ = make_adapter(answer(503, galat("SISTEM_TIDAK_TERSEDIA"), headers=headers))
    with pytest.raises(TransientBackendError) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_errors_are_transient_even_with_an_unreadable_body(make_adapter, status: int) -> None:
    adapter, _ = make_adapter(answer(status, raw=b"<html>Bad Gateway</html>"))
    with pytest.raises(TransientBackendError):
        await adapter.execute(command(), STEP_ID)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_timeouts_and_connection_errors_are_transient(make_adapter, error: Exception) -> None:
    adapter, _ = make_adapter(fail_with(error))
    with pytest.raises(TransientBackendError) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.retry_after is None


# --- answers that make no sense: FAILED, never a crash -------------------------------


async def test_200_with_a_malformed_body_is_an_invalid_answer(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, raw=b'{"status": "BERHASIL", "kode_bayar": '))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"


@pytest.mark.parametrize(
    "body",
    [
        {**SUCCESS, "kode_bayar": "12345"},  # not a billing code
        {**SUCCESS, "total_bayar": -1},
        {k: v for k, v in SUCCESS.items() if k != "no_transaksi"},
        {**SUCCESS, "status": "GAGAL"},
        {**SUCCESS, "bonus": True},  # Samsat's schema is closed too
        galat("NOPOL_TIDAK_TERDAFTAR"),  # an error body with a 200
        [SUCCESS],
    ],
    ids=["bad-billing-code", "negative-total", "missing-field", "wrong-status", "extra-field", "error-body", "list"],
)
async def test_200_with_a_schema_invalid_body_is_an_invalid_answer(make_adapter, body: Any) -> None:
    adapter, _ = make_adapter(answer(200, body))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (418, {"error": "teapot"}),
        (400, {"status": "GAGAL", "kode_error": "KODE_BARU_YANG_TIDAK_DIKENAL", "pesan": "?"}),
        (404, None),
    ],
    ids=["foreign-shape", "unknown-code", "empty"],
)
async def test_unknown_error_body_is_an_invalid_answer(make_adapter, status: int, body: Any) -> None:
    handler = answer(status, raw=b"") if body is None else answer(status, body)
    adapter, _ = make_adapter(handler)
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "agency_answer_invalid"
    assert str(status) in exc.value.message


# --- 5-year STNK renewal and ownership transfer (BBN-KB) ------------------------

BUYER = "1375020101850011"
CHECK = {"chassis_number": "mh1jfz130-kk123456", "engine_number": "jfz1e 1234567"}
FIVE_YEAR_SUCCESS: dict[str, Any] = {
    "status": "BERHASIL",
    "nopol": "BA 4321 LQ",
    "kode_bayar": "820260114000456",
    "rincian": {"pkb": 300_000, "swdkllj": 35_000, "biaya_stnk": 100_000, "biaya_tnkb": 60_000},
    "total_bayar": 495_000,
    "stnk_berlaku_sampai": "2031-01-14",
    "masa_berlaku_tnkb": "01.31",
    "tanggal_penetapan": "2026-01-14",
    "no_transaksi": "SMS-BA-20260114-000002",
}
TRANSFER_SUCCESS: dict[str, Any] = {
    "status": "BERHASIL",
    "nopol": "BA 2024 LA",
    "kode_bayar": "820260114000789",
    "rincian": {
        "bbnkb": 1_000_000,
        "pkb": 2_000_000,
        "swdkllj": 143_000,
        "biaya_bpkb": 375_000,
        "biaya_stnk": 200_000,
        "biaya_tnkb": 100_000,
    },
    "total_bayar": 3_818_000,
    "no_stnk": "01234567",
    "bpkb": {"status": "DIPROSES_POLDA", "perkiraan_selesai": "2026-02-03", "keterangan": "BPKB sedang diproses di Polda."},
    "tanggal_penetapan": "2026-01-14",
    "no_transaksi": "SMS-BA-20260114-000003",
}


def five_year_command(**data: Any) -> StepCommand:
    body = {"plate": "ba 4321 lq", "vehicle_type": "motorcycle", "bpkb_number": "n-1264 1541", "physical_check": CHECK, **data}
    return StepCommand(service="samsat.stnk_5year", operation="stnk_5year", applicant=Applicant(nik=NIK, name="Siti Rahmah"), data=body)


def transfer_command(**data: Any) -> StepCommand:
    body = {
        "plate": "BA 2024 LA",
        "vehicle_type": "car",
        "previous_owner_nik": "1375.0152.0390.0007",
        "bpkb_number": "P12345678",
        "sale_receipt_number": "KW/2026/0142",
        "sale_receipt_stamped": True,
        "physical_check": CHECK,
        **data,
    }
    return StepCommand(
        service="samsat.ownership_transfer", operation="ownership_transfer", applicant=Applicant(nik=BUYER, name="Rudi Hartono"), data=body
    )


async def test_five_year_renewal_is_sent_to_its_native_path_with_normalised_papers(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, FIVE_YEAR_SUCCESS))
    await adapter.execute(five_year_command(), STEP_ID)

    [request] = backend.requests
    assert request.url == httpx.URL("http://samsat.test" + PATH_PERPANJANGAN_LIMA_TAHUNAN)
    assert request.headers[HEADER_IDEMPOTENCY_KEY] == str(STEP_ID)
    body = json.loads(request.content)
    assert body == {
        "nopol": "BA 4321 LQ",
        "nik_pemilik": NIK,  # the applicant is the registered owner
        "jenis_kendaraan": "MOTOR",
        "no_bpkb": "N12641541",
        "cek_fisik": {"nomor_rangka": "MH1JFZ130KK123456", "nomor_mesin": "JFZ1E1234567"},
    }
    PermohonanPerpanjanganLimaTahunan.model_validate(body)


async def test_five_year_success_becomes_completed_with_stnk_and_plate_validity(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, FIVE_YEAR_SUCCESS))
    report = await adapter.execute(five_year_command(), STEP_ID)

    assert report.status is Status.COMPLETED and report.agency_status == "BERHASIL"
    output = Stnk5YearOutput.model_validate(report.outputs)
    assert output.billing_code == "820260114000456"
    assert output.amount == 495_000
    assert output.breakdown.model_dump() == {"pkb": 300_000, "swdkllj": 35_000, "stnk_fee": 100_000, "plate_fee": 60_000}
    assert output.stnk_valid_until.isoformat() == "2031-01-14"
    assert output.plate_valid_until == "2031-01"  # "01.31" on the plate
    assert output.agency_reference == "SMS-BA-20260114-000002"


async def test_transfer_sends_the_applicant_as_new_owner_and_the_seller_as_previous_owner(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, TRANSFER_SUCCESS))
    await adapter.execute(transfer_command(), STEP_ID)

    [request] = backend.requests
    assert request.url == httpx.URL("http://samsat.test" + PATH_BALIK_NAMA)
    body = json.loads(request.content)
    assert body == {
        "nopol": "BA 2024 LA",
        "jenis_kendaraan": "MOBIL",
        "nik_pemilik_lama": NIK,
        "nik_pemilik_baru": BUYER,
        "no_bpkb": "P12345678",
        "kwitansi": {"nomor": "KW/2026/0142", "bermeterai": True},
        "cek_fisik": {"nomor_rangka": "MH1JFZ130KK123456", "nomor_mesin": "JFZ1E1234567"},
    }
    PermohonanBalikNama.model_validate(body)


async def test_transfer_completes_with_the_stnk_while_the_bpkb_is_still_at_polda(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, TRANSFER_SUCCESS))
    report = await adapter.execute(transfer_command(), STEP_ID)

    assert report.status is Status.COMPLETED
    output = OwnershipTransferOutput.model_validate(report.outputs)
    assert output.amount == 3_818_000
    assert output.breakdown.model_dump() == {
        "bbnkb": 1_000_000,
        "pkb": 2_000_000,
        "swdkllj": 143_000,
        "bpkb_fee": 375_000,
        "stnk_fee": 200_000,
        "plate_fee": 100_000,
    }
    assert output.stnk_number == "01234567"
    assert output.bpkb_ready_estimate.isoformat() == "2026-02-03"
    assert output.bpkb_note.startswith("DIPROSES_POLDA") and "Polda" in output.bpkb_note


@pytest.mark.parametrize(
    "cmd",
    [
        five_year_command(bpkb_number="12345678"),
        five_year_command(physical_check={"chassis_number": "MH1JFZ130KK12345O", "engine_number": "JFZ1E1234567"}),
        transfer_command(previous_owner_nik="123"),
        transfer_command(sale_receipt_stamped=None),
    ],
    ids=["bpkb-without-letter", "vin-with-O", "bad-seller-nik", "stamp-unknown"],
)
async def test_invalid_input_of_the_new_services_never_reaches_samsat(make_adapter, cmd: StepCommand) -> None:
    adapter, backend = make_adapter(answer(200, TRANSFER_SUCCESS))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(cmd, STEP_ID)
    assert exc.value.code == "invalid_step_input"
    assert backend.requests == []


@pytest.mark.parametrize(
    ("kode", "code"),
    [
        ("BPKB_TIDAK_SESUAI", "bpkb_mismatch"),
        ("CEK_FISIK_TIDAK_SESUAI", "physical_check_mismatch"),
        ("PEMILIK_BARU_SAMA", "new_owner_is_registered_owner"),
        ("KWITANSI_TANPA_METERAI", "sale_receipt_unstamped"),
        ("NIK_TIDAK_SESUAI", "owner_mismatch"),
        ("KUOTA_HABIS", "agency_quota_exhausted"),
    ],
)
async def test_samsat_refusals_of_papers_and_owners_are_rejections(make_adapter, kode: str, code: str) -> None:
    adapter, _ = make_adapter(answer(409, galat(kode, "ditolak loket")))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(transfer_command(), STEP_ID)
    assert (exc.value.code, exc.value.agency_code, exc.value.message) == (code, kode, "ditolak loket")


@pytest.mark.parametrize(
    ("cmd", "body"),
    [
        (command(), {**SUCCESS, "total_bayar": 1}),
        (five_year_command(), {**FIVE_YEAR_SUCCESS, "total_bayar": 495_001}),
        (transfer_command(), {**TRANSFER_SUCCESS, "total_bayar": 0}),
        (command(), {**SUCCESS, "nopol": "BA 1 A"}),
        (five_year_command(), {**FIVE_YEAR_SUCCESS, "masa_berlaku_tnkb": "13.31"}),
        (transfer_command(), {**TRANSFER_SUCCESS, "bpkb": {**TRANSFER_SUCCESS["bpkb"], "status": "SELESAI_ENTAH"}}),
        (five_year_command(), SUCCESS),  # another operation's answer
    ],
    ids=["pkb-total", "five-year-total", "transfer-total", "other-plate", "bad-plate-month", "unknown-bpkb-status", "wrong-shape"],
)
async def test_answers_that_do_not_add_up_are_invalid(make_adapter, cmd: StepCommand, body: dict[str, Any]) -> None:
    adapter, _ = make_adapter(answer(200, body))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(cmd, STEP_ID)
    assert exc.value.code == "agency_answer_invalid"


async def test_a_200_html_page_is_reported_as_not_json(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, raw=b"<html>Sesi berakhir</html>", headers={"content-type": "text/html"}))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(five_year_command(), STEP_ID)
    assert "not JSON" in exc.value.message and "text/html" in exc.value.message


async def test_schema_invalid_reasons_name_fields_but_never_values(make_adapter) -> None:
    adapter, _ = make_adapter(answer(200, {**SUCCESS, "kode_bayar": NIK}))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert "kode_bayar" in exc.value.message and NIK not in exc.value.message


async def test_an_operation_samsat_does_not_offer_is_refused_without_calling_samsat(make_adapter) -> None:
    adapter, backend = make_adapter(answer(200, SUCCESS))
    unknown = command().model_copy(update={"operation": "mutasi_keluar"})
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(unknown, STEP_ID)
    assert exc.value.code == "unsupported_operation"
    assert backend.requests == []
    assert adapter.operations == {"pkb_annual", "stnk_5year", "ownership_transfer", "stnk_replacement", "mutation_out", "mutation_in"}


# --- against the simulator itself ----------------------------------------------------


@pytest.fixture
async def simulated() -> AsyncIterator[SamsatAdapter]:
    app = create_app(clock=lambda: datetime(2026, 1, 14, 9, 30, tzinfo=WIB))
    async with against_simulator(app, lambda t: SamsatAdapter(BackendSettings(base_url="http://samsat.test"), transport=t)) as adapter:
        yield adapter


async def test_every_operation_round_trips_through_the_simulator(simulated: SamsatAdapter) -> None:
    pkb = await simulated.execute(pkb_command(), uuid.uuid4())
    five = await simulated.execute(stnk_5year_command(), uuid.uuid4())
    transfer = await simulated.execute(ownership_transfer_command(), uuid.uuid4())

    assert PkbAnnualOutput.model_validate(pkb.outputs).breakdown.swdkllj == 143_000
    five_year = Stnk5YearOutput.model_validate(five.outputs)
    assert (five_year.breakdown.stnk_fee, five_year.breakdown.plate_fee) == (100_000, 60_000)  # motorcycle
    assert (five_year.stnk_valid_until.isoformat(), five_year.plate_valid_until) == ("2031-01-14", "2031-01")
    moved = OwnershipTransferOutput.model_validate(transfer.outputs)
    assert (
        moved.breakdown.bpkb_fee == 375_000 and moved.bpkb_ready_estimate.isoformat() == "2026-02-04"
    )  # 14 working days; 16 Jan is a holiday
    assert {r.status for r in (pkb, five, transfer)} == {Status.COMPLETED}


async def test_a_repeated_step_gets_the_same_outputs_from_the_simulator(simulated: SamsatAdapter) -> None:
    step = uuid.uuid4()
    first = await simulated.execute(ownership_transfer_command(), step)
    again = await simulated.execute(ownership_transfer_command(), step)
    assert again.outputs == first.outputs


async def test_the_contract_passes_the_generic_contract_kit() -> None:
    samsat_contract = contract()
    kit = ContractKit("samsat", samsat_contract, samsat_plugin.adapter, samsat_plugin.simulator(samsat_contract.simulator_options))
    report = await kit.run()
    assert report.passed, "\n".join(f"{r.name}: {r.detail}" for r in report.results if not r.passed)
    assert {s.command.service for s in samsat_contract.samples} == {
        "samsat.pkb_annual",
        "samsat.stnk_5year",
        "samsat.ownership_transfer",
        "samsat.stnk_replacement",
        "samsat.mutation_out",
        "samsat.mutation_in",
    }
    refusals = {s.expect_error_code for s in samsat_contract.samples if s.expect is Status.REJECTED}
    assert {"plate_not_registered", "owner_mismatch", "bpkb_mismatch", "sale_receipt_unstamped"} <= refusals
