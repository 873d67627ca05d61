"""BPJPH adapter: canonical ``halal.certification`` <-> SIHALAL's REST/JSON API, polled.

``execute`` submits the application (``POST /api/sihalal/v1/pengajuan``, the step id
as ``Idempotency-Key``, the partner ``X-Api-Key``) and reports ACCEPTED with the
``nomor_daftar`` as ``agency_ref`` and a ``poll_after_seconds``; the hub's poller then
sends ``poll`` commands, each one a ``GET`` of the application's status, mapped here.

Status mapping (native -> canonical, outputs/error), here and nowhere else:

========================  ================  ==========================================
``DIAJUKAN``              ACCEPTED          registration_number, route, fee
``VERIFIKASI``            IN_PROCESS        same
``PENDAMPINGAN_PPH``      IN_PROCESS        same (self-declare: halal process assistant)
``MENUNGGU_PEMBAYARAN``   AWAITING_PAYMENT  + billing_code, amount, pay_before
``PEMERIKSAAN_LPH``       IN_PROCESS        + paid_on (regular: halal inspection body)
``SIDANG_FATWA``          IN_PROCESS        same (fatwa session)
``TERBIT``                COMPLETED         the service's output model (validated here)
``DIKEMBALIKAN``          NEEDS_REVISION    error documents_returned + outputs.corrections
``DITOLAK``               REJECTED          error from ``penolakan.kode``
``KEDALUWARSA``           EXPIRED           error billing_expired
anything else             FAILED            AgencyAnswerInvalid ``agency_status_unknown``
========================  ================  ==========================================

Intermediate outputs are cumulative (the router replaces a step's outputs with every
transition). NEEDS_REVISION names what to correct twice: the error message lists the
canonical fields (``products.<i>.ingredients.<j>``) with SIHALAL's notes, and
``outputs.corrections`` holds ``{"field", "agency_field", "reason"}`` per note. It
carries no ``poll_after_seconds``: the application waits; the hub resubmits a corrected
step as a new step (new step id, new ``Idempotency-Key``).

Refusal reasons: ``BAHAN_TIDAK_HALAL`` -> ``ingredient_not_halal``,
``BILLING_KEDALUWARSA`` -> ``billing_expired``; a reason BPJPH adds later is still a
refusal on the merits: ``application_refused`` with its own code in ``agency_code``.

Synchronous errors: transport failures, 408/425/500/502/503/504 are transient (the
worker retries, ``Retry-After`` respected). Refusals on the merits at submission:
422 ``STATUS_WP_TIDAK_VALID`` -> ``taxpayer_status_invalid``, 422
``NIB_TIDAK_DITEMUKAN`` -> ``nib_not_found``, 422 ``SELF_DECLARE_TIDAK_BERHAK`` ->
``self_declare_not_eligible``, 429 ``KUOTA_HARIAN_HABIS`` -> ``agency_quota_exhausted``.
Anything else -- 401 (wrong API key: a configuration error), 409 key conflict, 422
``DATA_TIDAK_VALID``, 404 unknown application, a body that is not the protocol -- is
an invalid answer (FAILED with the reason).
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date
from typing import Any, ClassVar, Final

import httpx
from pydantic import Field, ValidationError

from adapters.bpjph.native import (
    HEADER_API_KEY,
    HEADER_IDEMPOTENCY_KEY,
    PATH_PENGAJUAN,
    PATH_STATUS,
    BalasanGalat,
    BalasanSukses,
    JenisPengajuan,
    KodeGalat,
    PenanggungJawab,
    PengajuanSertifikasi,
    Produk,
    SkalaUsaha,
    StatusPengajuan,
    StatusPengajuanHalal,
    StatusWajibPajak,
    TandaTerimaPengajuan,
)
from adapters.sdk import AdapterSettingsError, AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.base import Capability, validated_answer
from adapters.sdk.http import HttpAdapter, json_answer
from adapters.sdk.settings import ApiKeySettings
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepError, StepStatusReport
from schemas.services.djp import TaxpayerStatus
from schemas.services.halal import BusinessScale, CertificationRoute, HalalCertificationInput, HalalCertificationOutput

log = logging.getLogger(__name__)

AGENCY: Final[str] = "bpjph"


class BpjphSettings(ApiKeySettings):
    """BackendSettings plus SIHALAL's partner API key and how often to poll."""

    poll_interval_seconds: float = Field(
        default=60.0, gt=0, le=86_400,
        description="How long the hub waits before polling an application again; certification takes days (MPP_AGENCIES__BPJPH__POLL_INTERVAL_SECONDS).",
    )  # fmt: skip


#: The name adapters/bpjph/__init__.py documents; the SDK's one error for unusable settings.
BpjphConfigurationError = AdapterSettingsError


_ROUTE: Final[dict[CertificationRoute, JenisPengajuan]] = {
    CertificationRoute.SELF_DECLARE: JenisPengajuan.SELF_DECLARE,
    CertificationRoute.REGULAR: JenisPengajuan.REGULER,
}
_ROUTE_BACK: Final[dict[JenisPengajuan, CertificationRoute]] = {v: k for k, v in _ROUTE.items()}
_SCALE: Final[dict[BusinessScale, SkalaUsaha]] = {
    BusinessScale.MICRO: SkalaUsaha.MIKRO,
    BusinessScale.SMALL: SkalaUsaha.KECIL,
    BusinessScale.MEDIUM: SkalaUsaha.MENENGAH,
    BusinessScale.LARGE: SkalaUsaha.BESAR,
}
_TAXPAYER: Final[dict[TaxpayerStatus, StatusWajibPajak]] = {
    TaxpayerStatus.VALID: StatusWajibPajak.VALID,
    TaxpayerStatus.NOT_VALID: StatusWajibPajak.TIDAK_VALID,
}

#: Native status -> canonical status (the table in the module docstring).
STATUS_MAP: Final[dict[StatusPengajuan, Status]] = {
    StatusPengajuan.DIAJUKAN: Status.ACCEPTED,
    StatusPengajuan.VERIFIKASI: Status.IN_PROCESS,
    StatusPengajuan.PENDAMPINGAN_PPH: Status.IN_PROCESS,
    StatusPengajuan.MENUNGGU_PEMBAYARAN: Status.AWAITING_PAYMENT,
    StatusPengajuan.PEMERIKSAAN_LPH: Status.IN_PROCESS,
    StatusPengajuan.SIDANG_FATWA: Status.IN_PROCESS,
    StatusPengajuan.TERBIT: Status.COMPLETED,
    StatusPengajuan.DIKEMBALIKAN: Status.NEEDS_REVISION,
    StatusPengajuan.DITOLAK: Status.REJECTED,
    StatusPengajuan.KEDALUWARSA: Status.EXPIRED,
}
_REASONS: Final[dict[str, str]] = {"BAHAN_TIDAK_HALAL": "ingredient_not_halal", "BILLING_KEDALUWARSA": "billing_expired"}
_DEFAULT_REASON: Final[dict[Status, str]] = {Status.REJECTED: "application_refused", Status.EXPIRED: "application_expired"}
#: Refusals on the merits answered synchronously at submission.
_REJECTIONS: Final[dict[KodeGalat, str]] = {
    KodeGalat.STATUS_WP_TIDAK_VALID: "taxpayer_status_invalid",
    KodeGalat.NIB_TIDAK_DITEMUKAN: "nib_not_found",
    KodeGalat.SELF_DECLARE_TIDAK_BERHAK: "self_declare_not_eligible",
    KodeGalat.KUOTA_HARIAN_HABIS: "agency_quota_exhausted",
}
_INVALID: Final[dict[KodeGalat, str]] = {
    KodeGalat.KUNCI_BENTROK: "agency_idempotency_conflict",
    KodeGalat.API_KEY_TIDAK_VALID: "agency_auth_failed",
}
_KNOWN_STATUSES: Final[frozenset[str]] = frozenset(s.value for s in StatusPengajuan)
#: Regular-route stages after payment: their answers carry the paid billing.
_PAID_STAGES: Final[frozenset[StatusPengajuan]] = frozenset({StatusPengajuan.PEMERIKSAAN_LPH, StatusPengajuan.SIDANG_FATWA})
#: SIHALAL's ``produk[i].bahan[j]`` -> the canonical input path.
_AGENCY_FIELD: Final = re.compile(r"^produk\[(\d+)\](?:\.bahan\[(\d+)\])?$")


class BpjphAdapter(HttpAdapter):
    agency: ClassVar[str] = AGENCY
    label: ClassVar[str] = "BPJPH"
    operations: ClassVar[frozenset[str]] = frozenset({"certification"})
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POLL})
    settings_model: ClassVar[type[BackendSettings]] = BpjphSettings

    api_key_header: ClassVar[str | None] = HEADER_API_KEY

    settings: BpjphSettings

    # ------------------------------------------------------------------ Adapter API

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Submit the application; the step id is the ``Idempotency-Key``, applied once by SIHALAL."""
        self.check_operation(command)
        data = self.parse_input(HalalCertificationInput, command)
        with self.native_request():
            native = PengajuanSertifikasi(
                nib=data.nib,
                nama_usaha=data.business_name,
                skala_usaha=_SCALE[data.business_scale],
                jenis_pengajuan=_ROUTE[data.route],
                penanggung_jawab=PenanggungJawab(nik=command.applicant.nik, nama=command.applicant.name),
                produk=[Produk(nama_produk=p.name, bahan=list(p.ingredients)) for p in data.products],
                npwp=data.npwp,
                status_kswp=_TAXPAYER[data.taxpayer_status] if data.taxpayer_status else None,
                waktu_konfirmasi_kswp=data.kswp_confirmed_at,
            )
        log.info("bpjph: submitting %s for %s (step %s)", native.jenis_pengajuan.value, mask_nik(command.applicant.nik), step_id)
        body = native.model_dump(mode="json", exclude_none=True)
        response = await self.send("POST", PATH_PENGAJUAN, what="submission", json=body, headers={HEADER_IDEMPOTENCY_KEY: str(step_id)})
        if response.status_code != 201:
            raise self.transient_error(response, what="submission") or _error_for(response, "submission")
        raw = _data(response, "submission")
        if raw.get("status") not in (None, StatusPengajuan.DIAJUKAN.value):
            status = str(raw.get("status"))[:50]
            if status not in _KNOWN_STATUSES:
                raise _unknown_status(status)
            raise AgencyAnswerInvalid("agency_answer_invalid", f"BPJPH answered a submission with status {status}, expected DIAJUKAN")
        receipt = _validate(TandaTerimaPengajuan, raw, "submission receipt")
        if receipt.jenis_pengajuan is not native.jenis_pengajuan:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid",
                f"BPJPH registered a {receipt.jenis_pengajuan.value} application, not {native.jenis_pengajuan.value}",
            )
        return StepStatusReport(
            status=Status.ACCEPTED,
            outputs={
                "registration_number": receipt.nomor_daftar,
                "route": data.route.value,
                "submitted_on": receipt.tanggal_pengajuan.isoformat(),
            },
            agency_status=receipt.status,
            agency_ref=receipt.nomor_daftar,
            poll_after_seconds=self.settings.poll_interval_seconds,
        )

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        """Ask where the application is and map the answer (see the module docstring)."""
        self.check_operation(command)
        response = await self.send("GET", PATH_STATUS.format(nomor_daftar=agency_ref), what="status")
        if response.status_code != 200:
            raise self.transient_error(response, what="status") or _error_for(response, "status")
        raw = _data(response, "status")
        status = raw.get("status")
        if not isinstance(status, str) or status not in _KNOWN_STATUSES:
            raise _unknown_status(str(status)[:50])
        answer = _validate(StatusPengajuanHalal, raw, "status answer")
        if answer.nomor_daftar != agency_ref:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"BPJPH answered about application {answer.nomor_daftar}, asked about {agency_ref}"
            )
        report = _report(answer)
        if report.status.is_terminal or report.status is Status.NEEDS_REVISION:
            return report
        return report.model_copy(update={"poll_after_seconds": self.settings.poll_interval_seconds})


# ---------------------------------------------------------------------- translation


def _data(response: httpx.Response, what: str) -> dict[str, Any]:
    """The ``data`` of SIHALAL's success wrapper; anything else is an invalid answer."""
    return dict(json_answer(BalasanSukses, response, f"BPJPH {what} is not a SIHALAL success answer").data)


def _validate(model: type[Any], raw: dict[str, Any], what: str) -> Any:
    return validated_answer(model, raw, f"BPJPH {what} does not match its schema")


def _unknown_status(value: str) -> AgencyAnswerInvalid:
    return AgencyAnswerInvalid(
        "agency_status_unknown", f"BPJPH reported status {value!r}, which this adapter does not know", agency_code=value or None
    )


def _error_for(response: httpx.Response, what: str) -> Exception:
    """A non-transient error answer: a refusal on the merits, or SIHALAL refusing our request."""
    try:
        error = BalasanGalat.model_validate_json(response.content).galat
    except ValidationError:
        return AgencyAnswerInvalid("agency_answer_invalid", f"BPJPH {what}: HTTP {response.status_code} with an unreadable body")
    if error.kode in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[error.kode], error.pesan, agency_code=error.kode.value)
    code = _INVALID.get(error.kode, "agency_refused_request")
    return AgencyAnswerInvalid(code, f"BPJPH {what}: HTTP {response.status_code}: {error.pesan}", agency_code=error.kode.value)


def _report(answer: StatusPengajuanHalal) -> StepStatusReport:
    native = StatusPengajuan(answer.status)
    status = STATUS_MAP[native]
    ref = answer.nomor_daftar
    if status in (Status.REJECTED, Status.EXPIRED):
        reason = answer.penolakan.kode if answer.penolakan else ""
        error = StepError(
            code=_REASONS.get(reason, _DEFAULT_REASON[status]),
            message=answer.penolakan.alasan if answer.penolakan else answer.keterangan,
            agency_code=reason or native.value,
        )
        return StepStatusReport(status=status, error=error, agency_status=native.value, agency_ref=ref)
    if status is Status.NEEDS_REVISION:
        return _revision(answer, native)
    outputs = _completed(answer) if status is Status.COMPLETED else _progress(answer, native)
    return StepStatusReport(status=status, outputs=outputs, agency_status=native.value, agency_ref=ref)


def _require(value: Any, what: str, native: StatusPengajuan) -> Any:
    if value is None:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"BPJPH status {native.value} without {what}")
    return value


def _progress(answer: StatusPengajuanHalal, native: StatusPengajuan) -> dict[str, Any]:
    """Cumulative outputs of a non-final status; paying stages require their billing."""
    outputs: dict[str, Any] = {
        "registration_number": answer.nomor_daftar,
        "route": _ROUTE_BACK[answer.jenis_pengajuan].value,
        "submitted_on": answer.tanggal_pengajuan.isoformat(),
    }
    if answer.biaya is not None:
        outputs["fee"] = answer.biaya
    if native is StatusPengajuan.MENUNGGU_PEMBAYARAN or (answer.jenis_pengajuan is JenisPengajuan.REGULER and native in _PAID_STAGES):
        billing = _require(answer.tagihan, "tagihan (billing)", native)
        outputs.update(billing_code=billing.kode_billing, amount=billing.jumlah, pay_before=billing.batas_bayar.isoformat())
        if native in _PAID_STAGES:
            outputs["paid_on"] = _iso(_require(billing.tanggal_bayar, "tagihan.tanggal_bayar", native))
    return outputs


def _completed(answer: StatusPengajuanHalal) -> dict[str, Any]:
    native = StatusPengajuan.TERBIT
    certificate = _require(answer.sertifikat, "sertifikat", native)
    billing = answer.tagihan
    if answer.jenis_pengajuan is JenisPengajuan.REGULER:
        billing = _require(billing, "tagihan (billing)", native)
        _require(billing.tanggal_bayar, "tagihan.tanggal_bayar", native)
    values = {
        "registration_number": answer.nomor_daftar,
        "certificate_number": certificate.nomor_sertifikat,
        "issued_on": certificate.tanggal_terbit,
        "route": _ROUTE_BACK[answer.jenis_pengajuan],
        "fee": _require(answer.biaya, "biaya", native),
        "billing_code": billing.kode_billing if billing else None,
    }
    problem = "BPJPH's issued certificate does not fit halal.certification outputs"
    return validated_answer(HalalCertificationOutput, values, problem, code="agency_output_invalid").model_dump(mode="json")


def _revision(answer: StatusPengajuanHalal, native: StatusPengajuan) -> StepStatusReport:
    notes = _require(answer.catatan_perbaikan or None, "catatan_perbaikan", native)
    corrections = [{"field": canonical_field(n.bagian), "agency_field": n.bagian, "reason": n.keterangan} for n in notes]
    message = "; ".join(f"{c['field'] or c['agency_field']}: {c['reason']}" for c in corrections)
    return StepStatusReport(
        status=Status.NEEDS_REVISION,
        outputs={
            "registration_number": answer.nomor_daftar,
            "route": _ROUTE_BACK[answer.jenis_pengajuan].value,
            "submitted_on": answer.tanggal_pengajuan.isoformat(),
            "corrections": corrections,
        },
        error=StepError(code="documents_returned", message=f"correct {message}"[:2000], agency_code=native.value),
        agency_status=native.value,
        agency_ref=answer.nomor_daftar,
    )


def canonical_field(bagian: str) -> str | None:
    """SIHALAL's ``produk[0].bahan[2]`` as the canonical input path ``products.0.ingredients.2``
    (``None`` for a part the adapter cannot place)."""
    match = _AGENCY_FIELD.match(bagian)
    if match is None:
        return None
    product, ingredient = match.groups()
    return f"products.{product}" + (f".ingredients.{ingredient}" if ingredient is not None else "")


def _iso(value: date) -> str:
    return value.isoformat()


__all__ = ["STATUS_MAP", "BpjphAdapter", "BpjphConfigurationError", "BpjphSettings", "canonical_field"]
