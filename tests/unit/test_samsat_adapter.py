"""Specification of the Samsat adapter (adapters/samsat/adapter.py).

The backend is replaced by an ``httpx.MockTransport``: each test states what Samsat
answers and what canonical outcome the adapter must make of it. Whatever Samsat
says, the adapter returns a report or raises one of the SDK's outcome errors; it
never crashes with anything else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.samsat.adapter import SamsatAdapter
from adapters.samsat.native import HEADER_IDEMPOTENCY_KEY, PATH_PENGESAHAN, PermohonanPengesahan
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand
from schemas.services.samsat import PkbAnnualOutput

NIK = "1375015203900007"
STEP_ID = uuid.UUID("3f1e2d3c-4b5a-4697-8877-665544332211")

Handler = Callable[[httpx.Request], httpx.Response]

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


class Backend:
    """Records what the adapter sent and answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


@pytest.fixture
async def make_adapter() -> AsyncIterator[Callable[[Handler], tuple[SamsatAdapter, Backend]]]:
    adapters: list[SamsatAdapter] = []

    def make(handler: Handler) -> tuple[SamsatAdapter, Backend]:
        backend = Backend(handler)
        adapter = SamsatAdapter(
            BackendSettings(base_url="http://samsat.test", timeout_seconds=0.5),
            transport=httpx.MockTransport(backend),
        )
        adapters.append(adapter)
        return adapter, backend

    yield make
    for adapter in adapters:
        await adapter.aclose()


def answer(status: int, body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Handler:
    def handler(_: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


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


async def test_unregistered_plate_is_rejected_as_plate_not_registered(make_adapter) -> None:
    adapter, _ = make_adapter(answer(404, galat("NOPOL_TIDAK_TERDAFTAR", "Nomor polisi tidak terdaftar")))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "plate_not_registered"
    assert exc.value.agency_code == "NOPOL_TIDAK_TERDAFTAR"
    assert exc.value.message == "Nomor polisi tidak terdaftar"


async def test_nik_not_the_owner_is_rejected_as_owner_mismatch(make_adapter) -> None:
    adapter, _ = make_adapter(answer(409, galat("NIK_TIDAK_SESUAI")))
    with pytest.raises(AgencyRejection) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "owner_mismatch"
    assert exc.value.agency_code == "NIK_TIDAK_SESUAI"


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
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    adapter, _ = make_adapter(handler)
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


async def test_known_error_that_is_not_a_refusal_on_the_merits_is_an_invalid_answer(make_adapter) -> None:
    """A reused key is a hub bug, not the citizen's fault: FAILED with Samsat's code for support."""
    adapter, _ = make_adapter(answer(409, galat("KUNCI_SUDAH_DIPAKAI", "kunci sudah dipakai")))
    with pytest.raises(AgencyAnswerInvalid) as exc:
        await adapter.execute(command(), STEP_ID)
    assert exc.value.code == "agency_refused_request"
    assert exc.value.agency_code == "KUNCI_SUDAH_DIPAKAI"
