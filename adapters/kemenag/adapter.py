"""Kemenag adapter: canonical <-> SIMKAH's form-encoded HTTP (the KUA's backend).

SIMKAH answers in the same HTTP call (style SYNC), but slowly (seconds) and with
maintenance windows, so the defaults are a 20-second timeout and "down is transient":
the worker retries with backoff and, once the circuit opens, pauses consumption
until SIMKAH is back. Nothing is failed because the KUA's server is in maintenance.

Status mapping (native ``status`` / ``kode`` -> canonical):

==========================================  =======================================
``status=BERHASIL`` (HTTP 200)               COMPLETED, with the outputs
``status=GAGAL`` + a business ``kode``       REJECTED (AgencyRejection, code below)
``status=GAGAL`` + a protocol ``kode``       FAILED (AgencyAnswerInvalid): our bug
``status=GAGAL`` + unknown ``kode``          FAILED ``agency_error_unknown``
any other ``status`` value                   FAILED ``agency_status_unknown``
HTML maintenance page, HTTP 5xx/408/429,     transient (TransientBackendError):
``SISTEM_SIBUK``, timeout, connection error  retried, then paused by the breaker
body that is not a form / misses fields      FAILED ``agency_answer_invalid``
==========================================  =======================================

A registration outside the KUA carries a fee and a billing code, yet the step is
COMPLETED: SIMKAH's part (registering and issuing the billing code) is done, and the
payment happens at a bank, outside this step.

Personal data: NIKs appear only in the native form sent to SIMKAH; logs use
:func:`~schemas.identifiers.mask_nik`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar, Final, TypeVar

import httpx
from pydantic import BaseModel, Field

from adapters.kemenag.native import (
    FORM,
    PATH_DUPLIKAT,
    PATH_PENDAFTARAN,
    PATH_REKOMENDASI,
    TEKS_PEMELIHARAAN,
    AlasanDuplikat,
    FormatTidakValid,
    FormDuplikat,
    FormPendaftaran,
    FormRekomendasi,
    JawabanDuplikat,
    JawabanGagal,
    JawabanPendaftaran,
    JawabanRekomendasi,
    KodeGagal,
    StatusKawin,
    TempatAkad,
    decode_form,
)
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.base import validated_answer
from adapters.sdk.http import HttpAdapter, retry_after_seconds
from schemas.identifiers import mask_nik, parse_nik
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.kemenag import (
    CeremonyPlace,
    DuplicateReason,
    MaritalStatus,
    MarriageBookDuplicateInput,
    MarriageBookDuplicateOutput,
    MarriageRecommendationInput,
    MarriageRecommendationOutput,
    MarriageRegistrationInput,
    MarriageRegistrationOutput,
    Spouse,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

#: SIMKAH is slow; the hub's dev default is the same (hub/config.py).
DEFAULT_TIMEOUT_SECONDS: Final[float] = 20.0

OP_REGISTRATION: Final[str] = "marriage_registration"
OP_DUPLICATE: Final[str] = "marriage_book_duplicate"
OP_RECOMMENDATION: Final[str] = "marriage_recommendation"

_PLACE = {CeremonyPlace.KUA_OFFICE_HOURS: TempatAkad.KUA, CeremonyPlace.OUTSIDE_KUA_OR_AFTER_HOURS: TempatAkad.LUAR_KUA}
_PLACE_BACK = {v: k for k, v in _PLACE.items()}
_MARITAL = {
    MaritalStatus.NEVER_MARRIED: StatusKawin.BELUM_KAWIN,
    MaritalStatus.DIVORCED: StatusKawin.CERAI_HIDUP,
    MaritalStatus.WIDOWED: StatusKawin.CERAI_MATI,
}
_REASON = {DuplicateReason.LOST: AlasanDuplikat.HILANG, DuplicateReason.DAMAGED: AlasanDuplikat.RUSAK}

# SIMKAH's refusals on the merits: canonical code and what it means for the citizen.
_REJECTIONS: Final[dict[KodeGagal, tuple[str, str]]] = {
    KodeGagal.KUA_TIDAK_DIKENAL: ("unknown_kua", "The KUA code is not known to SIMKAH"),
    KodeGagal.PEMOHON_BUKAN_CATIN: ("applicant_not_party", "The applicant must be the groom or the bride"),
    KodeGagal.TANGGAL_AKAD_LEWAT: ("ceremony_date_past", "The ceremony date has already passed"),
    KodeGagal.PEMBERITAHUAN_KURANG_10_HARI: (
        "notice_too_short",
        "Registration is less than 10 working days before the ceremony and no sub-district (camat) dispensation was given",
    ),
    KodeGagal.DI_LUAR_JAM_KERJA: (
        "outside_office_hours",
        "A ceremony at the KUA must be on a working day in office hours; book it as outside the KUA / after hours",
    ),
    KodeGagal.USIA_DI_BAWAH_MINIMUM: (
        "under_age_without_dispensation",
        "One of the couple is under 19 on the ceremony day and no religious-court dispensation was given",
    ),
    KodeGagal.IZIN_ORANG_TUA_WAJIB: ("parental_consent_required", "One of the couple is under 21 and has no N5 parental consent"),
    KodeGagal.DOKUMEN_PERKAWINAN_LALU_WAJIB: (
        "previous_marriage_document_required",
        "A previous marriage must be documented (divorce certificate, or death certificate / N6)",
    ),
    KodeGagal.AKTA_TIDAK_DITEMUKAN: ("marriage_record_not_found", "No marriage certificate with this number at the KUA"),
    KodeGagal.SURAT_KEHILANGAN_WAJIB: ("police_report_required", "A lost marriage book needs a police loss report"),
    KodeGagal.KUA_TUJUAN_SAMA: ("same_district", "The ceremony is in the applicant's own district: no recommendation is needed"),
    KodeGagal.DOMISILI_TIDAK_SESUAI: ("not_a_resident", "The applicant does not live in the issuing KUA's district"),
    KodeGagal.KUOTA_HARIAN_PENUH: ("agency_quota_exhausted", "The KUA's daily quota is reached; try another day"),
}
# Refusals that say our request was malformed: a mapping bug here, not the citizen's fault.
_PROTOCOL_ERRORS: Final[frozenset[KodeGagal]] = frozenset(
    {
        KodeGagal.ID_TRANSAKSI_WAJIB,
        KodeGagal.FORMAT_TIDAK_VALID,
        KodeGagal.DATA_TIDAK_LENGKAP,
        KodeGagal.DATA_TIDAK_VALID,
        KodeGagal.ID_TRANSAKSI_GANDA,
    }
)


class KemenagSettings(BackendSettings):
    """Backend settings for SIMKAH: the same fields, a slower default timeout."""

    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, description="Per HTTP call; SIMKAH takes seconds.")


class KemenagAdapter(HttpAdapter):
    agency: ClassVar[str] = "kemenag"
    label: ClassVar[str] = "SIMKAH"
    operations: ClassVar[frozenset[str]] = frozenset({OP_REGISTRATION, OP_DUPLICATE, OP_RECOMMENDATION})
    settings_model: ClassVar[type[BackendSettings]] = KemenagSettings
    #: Down is transient at the KUA: any 5xx, and 429 (its proxy sheds load) too.
    transient_statuses: ClassVar[frozenset[int]] = frozenset({408, 425, 429, *range(500, 600)})

    settings: KemenagSettings

    def default_headers(self) -> dict[str, str]:
        return {"Accept": FORM}

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        operation = {OP_REGISTRATION: self._register, OP_DUPLICATE: self._duplicate, OP_RECOMMENDATION: self._recommend}[command.operation]
        return await operation(command, step_id)

    # ------------------------------------------------------------ operations

    async def _register(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(MarriageRegistrationInput, command)
        with self.native_request():
            form = self._registration_form(command, data, step_id)
        log.info("marriage registration step %s at KUA %s for %s", step_id, data.kua_code, mask_nik(command.applicant.nik))
        native = self._answer(await self._post(PATH_PENDAFTARAN, form.to_form()), JawabanPendaftaran)
        if native.kode_kua != form.kode_kua or native.tgl_akad != form.tgl_akad:
            raise AgencyAnswerInvalid("agency_answer_invalid", "SIMKAH registered another KUA or ceremony date than requested")
        with self.canonical_output():
            output = MarriageRegistrationOutput(
                registration_number=native.no_pendaftaran,
                registered_on=native.tgl_daftar,
                ceremony_date=native.tgl_akad,
                ceremony_time=native.jam_akad,
                ceremony_place=_PLACE_BACK[native.tempat_akad],
                kua_code=native.kode_kua,
                kua_name=native.nama_kua,
                fee=native.biaya,
                billing_code=native.kode_billing,
                premarital_counselling_required=native.wajib_bimwin == "YA",
                premarital_counselling_date=native.tgl_bimwin,
            )
        return self.completed(output, native.status, native.no_pendaftaran)

    @staticmethod
    def _registration_form(command: StepCommand, data: MarriageRegistrationInput, step_id: uuid.UUID) -> FormPendaftaran:
        return FormPendaftaran(
            id_transaksi=str(step_id),
            nik_pemohon=command.applicant.nik,
            **_party(data.groom, "suami"),
            **_party(data.bride, "istri"),
            tgl_akad=data.ceremony_date,
            jam_akad=data.ceremony_time.replace(second=0, microsecond=0) if data.ceremony_time else None,
            tempat_akad=_PLACE[data.ceremony_place],
            alamat_akad=data.ceremony_address,
            kode_kua=data.kua_code,
            no_n1=data.n1_number,
            no_dispensasi=data.court_dispensation_number,
            no_dispensasi_camat=data.short_notice_dispensation_number,
        )

    async def _duplicate(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(MarriageBookDuplicateInput, command)
        with self.native_request():
            form = FormDuplikat(
                **_applicant(command, step_id),
                no_akta_nikah=data.marriage_certificate_number,
                alasan=_REASON[data.reason],
                no_surat_kehilangan=data.police_report_number,
            )
        log.info("marriage book duplicate step %s for %s", step_id, mask_nik(command.applicant.nik))
        native = self._answer(await self._post(PATH_DUPLIKAT, form.to_form()), JawabanDuplikat)
        if native.no_akta_nikah != form.no_akta_nikah:
            raise AgencyAnswerInvalid("agency_answer_invalid", "SIMKAH answered for another marriage certificate than requested")
        with self.canonical_output():
            output = MarriageBookDuplicateOutput(
                duplicate_number=native.no_duplikat,
                issued_on=native.tgl_terbit,
                marriage_certificate_number=native.no_akta_nikah,
                kua_code=native.kode_kua,
            )
        return self.completed(output, native.status, native.no_duplikat)

    async def _recommend(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        data = self.parse_input(MarriageRecommendationInput, command)
        with self.native_request():
            form = FormRekomendasi(
                **_applicant(command, step_id),
                status_kawin=_MARITAL[data.marital_status],
                no_dok_kawin_lalu=data.previous_marriage_document,
                nama_calon_pasangan=data.partner_name,
                kode_kua_asal=data.home_kua_code,
                kode_kua_tujuan=data.destination_kua_code,
                tgl_akad=data.ceremony_date,
                no_n1=data.n1_number,
            )
        log.info("marriage recommendation step %s from KUA %s for %s", step_id, data.home_kua_code, mask_nik(command.applicant.nik))
        native = self._answer(await self._post(PATH_REKOMENDASI, form.to_form()), JawabanRekomendasi)
        if (native.kode_kua_asal, native.kode_kua_tujuan) != (form.kode_kua_asal, form.kode_kua_tujuan):
            raise AgencyAnswerInvalid("agency_answer_invalid", "SIMKAH answered for other KUAs than requested")
        with self.canonical_output():
            output = MarriageRecommendationOutput(
                recommendation_number=native.no_rekomendasi,
                issued_on=native.tgl_terbit,
                issuing_kua_code=native.kode_kua_asal,
                issuing_kua_name=native.nama_kua_asal,
                destination_kua_code=native.kode_kua_tujuan,
                ceremony_date=native.tgl_akad,
            )
        return self.completed(output, native.status, native.no_rekomendasi)

    async def _post(self, path: str, body: str) -> httpx.Response:
        return await self.send("POST", path, content=body.encode("utf-8"), headers={"Content-Type": FORM})

    def _answer(self, response: httpx.Response, model: type[M]) -> M:
        """The success answer as ``model``; every other answer raises the matching SDK error."""
        if _is_maintenance_page(response):
            raise TransientBackendError(
                f"SIMKAH is in maintenance (HTTP {response.status_code})", retry_after=retry_after_seconds(response)
            )
        transient = self.transient_error(response, detail=_kode_suffix(response))
        if transient is not None:
            raise transient
        return _answer(response, model)


# ------------------------------------------------------------------ translation


def _applicant(command: StepCommand, step_id: uuid.UUID) -> dict[str, Any]:
    """The transaction and who applies, as SIMKAH's duplicate and recommendation forms name them."""
    return {"id_transaksi": str(step_id), "nik_pemohon": command.applicant.nik, "nama_pemohon": command.applicant.name}


def _party(person: Spouse, role: str) -> dict[str, Any]:
    """One spouse's fields of the registration form; ``role`` is SIMKAH's suffix (``suami``, ``istri``)."""
    return {
        f"nik_{role}": person.nik,
        f"nama_{role}": person.name,
        # SIMKAH asks for birth dates; they are encoded in the NIK.
        f"tgl_lahir_{role}": parse_nik(person.nik).birth_date,
        f"status_kawin_{role}": _MARITAL[person.marital_status],
        f"no_dok_kawin_lalu_{role}": person.previous_marriage_document,
        f"no_n5_{role}": person.parental_consent_n5,
    }


def _answer(response: httpx.Response, model: type[M]) -> M:
    """A form answer (neither maintenance nor a transient status) as ``model``, or the SDK error it means."""
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    try:
        fields = decode_form(response.content)
    except FormatTidakValid as exc:
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", f"SIMKAH HTTP {status} answer is not form-encoded ({exc}; content-type {content_type[:60]!r})"
        ) from exc
    native_status = fields.get("status")
    if native_status == "BERHASIL" and status == 200:
        return validated_answer(model, fields, "SIMKAH success answer does not match its schema")
    if native_status == "GAGAL":
        refusal = validated_answer(JawabanGagal, fields, "SIMKAH refusal does not match its schema")
        raise _refusal(refusal, status, retry_after=retry_after_seconds(response))
    shown = (native_status or "")[:40]
    raise AgencyAnswerInvalid(
        "agency_status_unknown", f"SIMKAH HTTP {status} answered status={shown!r}, which is not a SIMKAH status", agency_code=shown or None
    )


def _refusal(refusal: JawabanGagal, http_status: int, *, retry_after: float | None) -> Exception:
    pesan = refusal.pesan[:1000]
    try:
        kode = KodeGagal(refusal.kode)
    except ValueError:
        return AgencyAnswerInvalid("agency_error_unknown", f"SIMKAH refused with an unknown code: {pesan}", agency_code=refusal.kode)
    if kode is KodeGagal.SISTEM_SIBUK:
        return TransientBackendError(f"SIMKAH busy (HTTP {http_status})", retry_after=retry_after)
    if kode in _REJECTIONS:
        code, meaning = _REJECTIONS[kode]
        return AgencyRejection(code, f"{meaning}. KUA: {pesan}", agency_code=kode.value)
    assert kode in _PROTOCOL_ERRORS
    return AgencyAnswerInvalid("agency_refused_request", f"SIMKAH refused the adapter's request: {pesan}", agency_code=kode.value)


def _is_maintenance_page(response: httpx.Response) -> bool:
    """The proxy's HTML page saying SIMKAH is in maintenance (whatever the HTTP status)."""
    looks_html = "html" in response.headers.get("content-type", "").lower() or response.content.lstrip().startswith(b"<")
    return looks_html and TEKS_PEMELIHARAAN.lower() in response.text.lower()


def _kode_suffix(response: httpx.Response) -> str:
    """`` SISTEM_SIBUK`` when an error answer is a readable refusal, for the operator's log."""
    try:
        return f" {decode_form(response.content).get('kode', '')[:40]}".rstrip()
    except FormatTidakValid:
        return ""


__all__: list[str] = ["DEFAULT_TIMEOUT_SECONDS", "OP_DUPLICATE", "OP_REGISTRATION", "KemenagAdapter", "KemenagSettings"]
