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
from pydantic import ValidationError

from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.http import HttpAdapter
from adapters.sdk.settings import ApiKeySettings
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
from schemas.messages import StepCommand, StepStatusReport
from schemas.validation import describe

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
_BIRTH_DATE: dict[HasilPadanan, BirthDateCheck] = {
    HasilPadanan.SESUAI: BirthDateCheck.MATCH,
    HasilPadanan.TIDAK_SESUAI: BirthDateCheck.MISMATCH,
    HasilPadanan.TIDAK_DIPERIKSA: BirthDateCheck.NOT_CHECKED,
}


class DukcapilSettings(ApiKeySettings):
    """Backend settings plus Dukcapil's own: the institution's API key.

    Configured like every agency, e.g. ``MPP_AGENCIES__DUKCAPIL__API_KEY``."""


class DukcapilAdapter(HttpAdapter):
    agency: ClassVar[str] = "dukcapil"
    label: ClassVar[str] = "Dukcapil"
    operations: ClassVar[frozenset[str]] = frozenset({OPERATION})
    # The hub hands over plain BackendSettings with extras; the base validates them as
    # these, once, so a missing api_key stops the worker at start-up instead of failing every case.
    settings_model: ClassVar[type[BackendSettings]] = DukcapilSettings
    api_key_header: ClassVar[str | None] = HEADER_API_KEY

    settings: DukcapilSettings

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        data = self.parse_input(NikVerificationInput, command)
        with self.native_request():
            native = PermintaanVerifikasi(
                nik=data.nik,
                nama_lengkap=data.full_name,
                tgl_lahir=data.birth_date.strftime(FORMAT_TANGGAL) if data.birth_date else None,
            )
        log.info("verifying NIK %s at Dukcapil (step %s)", mask_nik(data.nik), step_id)
        response = await self.send("POST", PATH_VERIFIKASI, json=native.model_dump(mode="json"), headers={HEADER_REQUEST_ID: str(step_id)})
        if response.status_code == 200:
            return self._translate_answer(response, data.nik)
        error = _galat(response)
        # Whatever the body says (gateways send HTML), a transient status is transient.
        raise self.transient_error(response, detail=f" {error.kode.value}" if error else "") or _error_for(response, error)

    def _translate_answer(self, response: httpx.Response, nik: str) -> StepStatusReport:
        """A 200 answer as a report, a refusal, or an invalid answer; never anything else."""
        try:
            body = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            content_type = response.headers.get("content-type", "?")
            raise AgencyAnswerInvalid("agency_answer_invalid", f"Dukcapil HTTP 200 answer is not JSON ({content_type})") from None
        try:
            answer = JawabanVerifikasi.model_validate(body)
            verified_at = baca_waktu(answer.waktu_verifikasi)
        except ValidationError as exc:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Dukcapil answer does not match its schema: {describe(exc, root='body')}"
            ) from None
        except ValueError:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", "Dukcapil answer does not match its schema: waktu_verifikasi is not a time"
            ) from None
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
        with self.canonical_output():  # cannot fail for an answer that passed the native schema; guarded all the same
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
        return self.completed(output, status.value, answer.id_transaksi)


def _galat(response: httpx.Response) -> GalatDukcapil | None:
    """The error body in Dukcapil's shape, or None for anything else."""
    try:
        return GalatDukcapil.model_validate_json(response.content)
    except ValidationError:
        return None


def _error_for(response: httpx.Response, error: GalatDukcapil | None) -> Exception:
    """The SDK outcome for a non-200, non-transient answer."""
    if error is None:
        return AgencyAnswerInvalid("agency_answer_invalid", f"Dukcapil HTTP {response.status_code} with an unreadable body")
    if error.kode in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[error.kode], error.pesan, agency_code=error.kode.value)
    if error.kode is KodeGalat.API_KEY_TIDAK_VALID:
        return AgencyAnswerInvalid("agency_auth_failed", f"Dukcapil refused our API key: {error.pesan}", agency_code=error.kode.value)
    return AgencyAnswerInvalid("agency_refused_request", error.pesan, agency_code=error.kode.value)


__all__ = ["OPERATION", "DukcapilAdapter", "DukcapilSettings"]
