"""Dukcapil adapter: canonical <-> Dukcapil's NIK verification web service (sync REST/JSON).

One step command is one native call, answered in the same HTTP exchange (``SYNC``).
The step id travels as ``X-Request-Id``, Dukcapil's idempotency key, and the
institution's API key as ``X-Api-Key`` (settings extra ``api_key``).

Status mapping (native -> canonical), here and nowhere else:

=============================================  =========================================
Dukcapil answers                               canonical outcome
=============================================  =========================================
200, ``status_data`` AKTIF                     COMPLETED; ``match_result`` MATCH when
                                               ``hasil_nama`` is SESUAI, else NAME_MISMATCH
200, ``status_data`` DIBLOKIR                  REJECTED ``nik_record_blocked``
200, ``status_data`` MENINGGAL                 REJECTED ``nik_holder_deceased``
200, any other ``status_data``                 FAILED ``agency_status_unknown``
200, not JSON / not the schema / other NIK     FAILED ``agency_answer_invalid``
404 ``NIK_TIDAK_TERDAFTAR``                    REJECTED ``nik_not_registered``
429 ``KUOTA_AKSES_HABIS``                      REJECTED ``agency_quota_exhausted``
401 ``API_KEY_TIDAK_VALID``                    FAILED ``agency_auth_failed`` (a configuration
                                               fault: retrying cannot help, and every case
                                               shows it until the key is fixed)
408/425/500/502/503/504, timeout, no connection  TransientBackendError (worker retries,
                                               honouring ``Retry-After``)
any other error in Dukcapil's shape            FAILED ``agency_refused_request`` (with ``kode``)
any other error body                           FAILED ``agency_answer_invalid``
=============================================  =========================================

Personal data: the verified NIK and the KK number leave this module masked
(:func:`schemas.identifiers.mask_nik`); logs only ever show masked NIKs.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import ClassVar

import httpx
from pydantic import SecretStr, ValidationError

from adapters.sdk import Adapter, AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from mpp_dukcapil.native import (
    FORMAT_TANGGAL,
    HEADER_API_KEY,
    HEADER_REQUEST_ID,
    PATH_VERIFIKASI,
    GalatDukcapil,
    HasilPadanan,
    JawabanVerifikasi,
    KodeGalat,
    PermintaanVerifikasi,
    StatusData,
    baca_waktu,
)
from mpp_dukcapil.payloads import (
    BirthDateCheck,
    MatchResult,
    NikVerificationInput,
    NikVerificationOutput,
    RegisteredRegion,
)
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport

log = logging.getLogger(__name__)

OPERATION = "nik_verification"

# Refusals on the merits carried in a 200 answer: the record exists but may not be used.
_RECORD_REFUSALS: dict[StatusData, tuple[str, str]] = {
    StatusData.DIBLOKIR: ("nik_record_blocked", "the population record of this NIK is blocked at Dukcapil"),
    StatusData.MENINGGAL: ("nik_holder_deceased", "Dukcapil has registered the death of this NIK's holder"),
}
# Refusals on the merits carried in an error answer.
_REJECTIONS: dict[KodeGalat, str] = {
    KodeGalat.NIK_TIDAK_TERDAFTAR: "nik_not_registered",
    KodeGalat.KUOTA_AKSES_HABIS: "agency_quota_exhausted",
}
_TRANSIENT_STATUS = frozenset({408, 425, 500, 502, 503, 504})
_BIRTH_DATE: dict[HasilPadanan, BirthDateCheck] = {
    HasilPadanan.SESUAI: BirthDateCheck.MATCH,
    HasilPadanan.TIDAK_SESUAI: BirthDateCheck.MISMATCH,
    HasilPadanan.TIDAK_DIPERIKSA: BirthDateCheck.NOT_CHECKED,
}


class DukcapilSettings(BackendSettings):
    """Backend settings plus Dukcapil's own: the institution's API key.

    Configured like every agency, e.g. ``MPP_AGENCIES__DUKCAPIL__API_KEY``."""

    api_key: SecretStr


class DukcapilAdapter(Adapter):
    agency: ClassVar[str] = "dukcapil"
    operations: ClassVar[frozenset[str]] = frozenset({OPERATION})

    settings: DukcapilSettings

    def __init__(self, settings: BackendSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        # The hub hands over plain BackendSettings with extras; validate ours here, once,
        # so a missing api_key stops the worker at start-up instead of failing every case.
        typed = settings if isinstance(settings, DukcapilSettings) else DukcapilSettings.model_validate(settings.model_dump())
        super().__init__(typed)
        self._http = httpx.AsyncClient(
            base_url=str(typed.base_url),
            timeout=typed.timeout_seconds,
            transport=transport,
            headers={HEADER_API_KEY: typed.api_key.get_secret_value()},
        )

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        if command.operation != OPERATION:
            raise AgencyAnswerInvalid("unknown_operation", f"Dukcapil has no operation {command.operation!r}")
        try:
            data = NikVerificationInput.model_validate(command.data)
        except ValidationError as exc:
            raise AgencyAnswerInvalid("invalid_step_input", f"step input does not match the service: {exc.error_count()} errors") from exc
        native = PermintaanVerifikasi(
            nik=data.nik,
            nama_lengkap=data.full_name,
            tgl_lahir=data.birth_date.strftime(FORMAT_TANGGAL) if data.birth_date else None,
        )
        log.info("verifying NIK %s at Dukcapil (step %s)", mask_nik(data.nik), step_id)
        try:
            response = await self._http.post(
                PATH_VERIFIKASI, json=native.model_dump(mode="json"), headers={HEADER_REQUEST_ID: str(step_id)}
            )
        except httpx.TimeoutException as exc:
            raise TransientBackendError(f"Dukcapil did not answer within {self.settings.timeout_seconds}s") from exc
        except httpx.TransportError as exc:
            raise TransientBackendError(f"Dukcapil unreachable: {type(exc).__name__}") from exc
        if response.status_code == 200:
            return _translate_answer(response, data.nik)
        raise _error_for(response)

    async def aclose(self) -> None:
        await self._http.aclose()


def _translate_answer(response: httpx.Response, nik: str) -> StepStatusReport:
    """A 200 answer as a report, a refusal, or an invalid answer; never anything else."""
    try:
        body = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        content_type = response.headers.get("content-type", "?")
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Dukcapil HTTP 200 answer is not JSON ({content_type})") from None
    try:
        answer = JawabanVerifikasi.model_validate(body)
        verified_at = baca_waktu(answer.waktu_verifikasi)
    except (ValidationError, ValueError) as exc:
        count = exc.error_count() if isinstance(exc, ValidationError) else 1
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Dukcapil answer does not match its schema: {count} errors") from None
    found = answer.data
    if found.nik != nik:
        raise AgencyAnswerInvalid("agency_answer_invalid", "Dukcapil answered about another NIK than the one asked")
    try:
        status = StatusData(found.status_data)
    except ValueError:
        raise AgencyAnswerInvalid(
            "agency_status_unknown", f"unknown Dukcapil status_data {found.status_data[:40]!r}", agency_code=found.status_data[:100]
        ) from None
    if status in _RECORD_REFUSALS:
        code, message = _RECORD_REFUSALS[status]
        raise AgencyRejection(code, message, agency_code=status.value)
    if found.hasil_nama is None or found.hasil_nama is HasilPadanan.TIDAK_DIPERIKSA or found.hasil_tgl_lahir is None:
        raise AgencyAnswerInvalid("agency_answer_invalid", "Dukcapil answer for an AKTIF record lacks the comparison results")
    if found.no_kk is None or found.no_prop is None or found.no_kab is None or found.no_kec is None:
        raise AgencyAnswerInvalid("agency_answer_invalid", "Dukcapil answer for an AKTIF record lacks the KK number or domicile")
    province = f"{found.no_prop:02d}"
    try:  # cannot fail for an answer that passed the native schema; guarded all the same
        output = NikVerificationOutput(
            nik_masked=mask_nik(found.nik),
            match_result=MatchResult.MATCH if found.hasil_nama is HasilPadanan.SESUAI else MatchResult.NAME_MISMATCH,
            birth_date_check=_BIRTH_DATE[found.hasil_tgl_lahir],
            region=RegisteredRegion(
                province=province,
                regency=f"{province}{found.no_kab:02d}",
                district=f"{province}{found.no_kab:02d}{found.no_kec:02d}",
            ),
            kk_number_masked=mask_nik(found.no_kk),
            verified_at=verified_at,
            agency_reference=answer.id_transaksi,
        )
    except ValidationError as exc:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Dukcapil answer does not fit the service output: {exc.error_count()} errors") from None
    return StepStatusReport(
        status=Status.COMPLETED,
        outputs=output.model_dump(mode="json"),
        agency_status=status.value,
        agency_ref=answer.id_transaksi,
    )


def _error_for(response: httpx.Response) -> Exception:
    """The SDK outcome for a non-200 answer."""
    try:
        error: GalatDukcapil | None = GalatDukcapil.model_validate_json(response.content)
    except ValidationError:
        error = None
    if response.status_code in _TRANSIENT_STATUS:  # whatever the body says (gateways send HTML)
        kode = f" {error.kode.value}" if error else ""
        return TransientBackendError(f"Dukcapil HTTP {response.status_code}{kode}", retry_after=_retry_after(response))
    if error is None:
        return AgencyAnswerInvalid("agency_answer_invalid", f"Dukcapil HTTP {response.status_code} with an unreadable body")
    if error.kode in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[error.kode], error.pesan, agency_code=error.kode.value)
    if error.kode is KodeGalat.API_KEY_TIDAK_VALID:
        return AgencyAnswerInvalid("agency_auth_failed", f"Dukcapil refused our API key: {error.pesan}", agency_code=error.kode.value)
    return AgencyAnswerInvalid("agency_refused_request", error.pesan, agency_code=error.kode.value)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


__all__ = ["DukcapilAdapter", "DukcapilSettings", "OPERATION"]
