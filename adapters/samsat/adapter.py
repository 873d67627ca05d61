"""Samsat adapter: canonical <-> Samsat's synchronous REST/JSON.

Samsat answers in the same HTTP call, so one step command is one native call. Its
Indonesian error codes map onto canonical outcomes here and nowhere else.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

import httpx
from pydantic import ValidationError

from adapters.samsat.native import (
    HEADER_IDEMPOTENCY_KEY,
    PATH_PENGESAHAN,
    GalatSamsat,
    HasilPengesahan,
    JenisKendaraan,
    KodeError,
    PermohonanPengesahan,
)
from adapters.sdk import Adapter, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.samsat import PkbAnnualInput, PkbAnnualOutput, PkbBreakdown, VehicleType

_VEHICLE = {VehicleType.CAR: JenisKendaraan.MOBIL, VehicleType.MOTORCYCLE: JenisKendaraan.MOTOR}

# Samsat's refusals on the merits, with the canonical code the portal sees.
_REJECTIONS: dict[KodeError, str] = {
    KodeError.NOPOL_TIDAK_TERDAFTAR: "plate_not_registered",
    KodeError.NIK_TIDAK_SESUAI: "owner_mismatch",
    KodeError.KUOTA_HABIS: "agency_quota_exhausted",
}
_TRANSIENT_STATUS = {408, 425, 500, 502, 503, 504}


class SamsatAdapter(Adapter):
    agency: ClassVar[str] = "samsat"
    operations: ClassVar[frozenset[str]] = frozenset({"pkb_annual"})

    def __init__(self, settings: BackendSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings)
        self._http = httpx.AsyncClient(
            base_url=str(settings.base_url), timeout=settings.timeout_seconds, transport=transport
        )

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        try:
            data = PkbAnnualInput.model_validate(command.data)
        except ValidationError as exc:
            raise AgencyAnswerInvalid("invalid_step_input", f"step input does not match the service: {exc.error_count()} errors") from exc
        native = PermohonanPengesahan(
            nopol=data.plate, nik_pemilik=command.applicant.nik, jenis_kendaraan=_VEHICLE[data.vehicle_type]
        )
        response = await self._post(PATH_PENGESAHAN, native.model_dump(mode="json"), step_id)
        if response.status_code == 200:
            return _completed(response)
        raise _error_for(response)

    async def _post(self, path: str, body: dict[str, object], step_id: uuid.UUID) -> httpx.Response:
        try:
            return await self._http.post(path, json=body, headers={HEADER_IDEMPOTENCY_KEY: str(step_id)})
        except httpx.TimeoutException as exc:
            raise TransientBackendError(f"timeout after {self.settings.timeout_seconds}s") from exc
        except httpx.TransportError as exc:
            raise TransientBackendError(f"connection failed: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._http.aclose()


def _completed(response: httpx.Response) -> StepStatusReport:
    try:
        native = HasilPengesahan.model_validate_json(response.content)
    except ValidationError as exc:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Samsat success answer does not match its schema: {exc.error_count()} errors") from exc
    output = PkbAnnualOutput(
        billing_code=native.kode_bayar,
        amount=native.total_bayar,
        breakdown=PkbBreakdown(
            pkb=native.rincian.pkb, swdkllj=native.rincian.swdkllj, endorsement_fee=native.rincian.biaya_pengesahan
        ),
        stnk_valid_until=native.berlaku_sampai,
        agency_reference=native.no_transaksi,
    )
    return StepStatusReport(status=Status.COMPLETED, outputs=output.model_dump(mode="json"), agency_status=native.status)


def _error_for(response: httpx.Response) -> Exception:
    if response.status_code in _TRANSIENT_STATUS:
        return TransientBackendError(f"Samsat HTTP {response.status_code}", retry_after=_retry_after(response))
    try:
        error = GalatSamsat.model_validate_json(response.content)
    except ValidationError:
        return AgencyAnswerInvalid("agency_answer_invalid", f"Samsat HTTP {response.status_code} with an unreadable body")
    if error.kode_error in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[error.kode_error], error.pesan, agency_code=error.kode_error.value)
    return AgencyAnswerInvalid("agency_refused_request", error.pesan, agency_code=error.kode_error.value)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
