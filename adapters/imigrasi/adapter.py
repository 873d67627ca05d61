"""Imigrasi adapter: canonical <-> Imigrasi's SOAP 1.1 passport service, progress polled.

``execute`` submits the application (``AjukanPermohonan``, the step id as
``IdTransaksi``) and reports ACCEPTED with the agency's ``NomorPermohonan`` as
``agency_ref`` and a ``poll_after_seconds``; the hub's poller then sends ``poll``
commands, and each one asks ``CekStatusPermohonan`` and maps the answer.
``cancel`` (``Capability.CANCEL``) asks ``BatalkanPermohonan`` with the step id: before
payment the application becomes ``DIBATALKAN`` (CANCELLED); after payment Imigrasi
does not cancel and answers the current status, which is reported as it is (e.g.
IN_PROCESS), not as an error. An application Imigrasi never registered under the step
id is reported CANCELLED: nothing to stop, and Imigrasi closes the id so a late
submission cannot apply.

Status mapping (native -> canonical, outputs/error):

=====================  ================  ==============================================
``DITERIMA``           ACCEPTED          application_number, appointment_date
``MENUNGGU_PEMBAYARAN`` AWAITING_PAYMENT  + billing_code, amount, pay_before
``DIPROSES``           IN_PROCESS        + paid_on, ntpn, expected_ready_on
``SIAP_DIAMBIL``       READY_FOR_PICKUP  + passport_number, issued_on, expires_on, pickup_before
``SELESAI``            COMPLETED         the service's output model (validated here)
``DITOLAK``            REJECTED          error from ``KodeAlasan`` (``CEKAL`` -> travel_ban, ...)
``KEDALUWARSA``        EXPIRED           error billing_expired / not_collected
``BERKAS_DIKEMBALIKAN`` NEEDS_REVISION   error documents_inconsistent + outputs.corrections
``DIBATALKAN``         CANCELLED         application_number, appointment_date
anything else          FAILED            AgencyAnswerInvalid ``agency_status_unknown``
=====================  ================  ==============================================

NEEDS_REVISION (documents returned at the interview) names what to correct twice: the
error (code from ``KodeAlasan``; message ``correct supporting_document (<document>):
<Imigrasi's Alasan>``) and ``outputs.corrections``, a list of ``{"field", "value",
"reason"}`` in canonical input terms (``field`` = ``supporting_document``, ``value`` =
the document returned). It
carries no ``poll_after_seconds``: the application waits for the applicant, and the
hub resubmits a corrected step as a new step (new step id, new ``IdTransaksi``).

Intermediate outputs are cumulative: each report carries everything known so far,
because the router replaces a step's outputs with every transition.

Error mapping. SOAP 1.1 returns every fault with HTTP 500, so the *faultcode* decides,
not the HTTP status:

* ``soap:Server`` fault, a gateway status (502/503/504, 408, 429), a 500 that is not
  SOAP, a timeout or a connection error -> ``TransientBackendError`` (retry; the
  fault's ``DetikCobaLagi`` becomes ``retry_after``).
* ``soap:Client`` fault with a refusal on the merits (``KUOTA_HABIS``,
  ``PASPOR_LAMA_TIDAK_TERDAFTAR``, ``MASA_BERLAKU_TIDAK_DIIZINKAN`` -- a 10-year
  passport for someone under 17 and unmarried, Permenkumham 18/2022 --,
  ``SKCK_TIDAK_BERLAKU``) -> ``AgencyRejection``.

Operations: ``passport_new`` (``BARU``), ``passport_renewal`` (``PENGGANTIAN``),
``passport_lost_damaged`` (``PENGGANTIAN_HILANG`` / ``PENGGANTIAN_RUSAK`` by the
reason; the outputs add the BAP number and the charge) and ``passport_migrant_worker``
(``PMI``: always non-electronic, 5 years, no billing, so no billing outputs either).
* any other ``soap:Client`` fault (schema violation, key reused, unknown application),
  a body that is not SOAP, an answer that does not match the service's schema, an
  unknown status -> ``AgencyAnswerInvalid`` with a reason that says which.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any, ClassVar, Final
from xml.etree import ElementTree as ET

from pydantic import BaseModel, Field

from adapters.imigrasi.native import (
    CONTENT_TYPE,
    OP_AJUKAN,
    OP_BATALKAN,
    OP_CEK_STATUS,
    PATH_LAYANAN,
    BatalkanPermohonan,
    CekStatus,
    DataPemohon,
    DokumenPendukung,
    HasilPengajuan,
    JenisPaspor,
    JenisPermohonan,
    KodeGalat,
    PermohonanPaspor,
    StatusPermohonan,
    StatusPermohonanPaspor,
    XmlTidakValid,
    amplop,
    baca_amplop,
    baca_fault,
    elemen,
    is_fault,
    isi_elemen,
    q,
    respons,
    soap_action,
)
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings, TransientBackendError
from adapters.sdk.base import Capability, validated_answer
from adapters.sdk.http import HttpAdapter
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepError, StepStatusReport
from schemas.services.imigrasi import (
    MigrantWorkerPassportInput,
    MigrantWorkerPassportOutput,
    PassportLossReason,
    PassportLostDamagedInput,
    PassportLostDamagedOutput,
    PassportNewInput,
    PassportNewOutput,
    PassportRenewalInput,
    PassportRenewalOutput,
    PassportType,
    SupportingDocument,
)

log = logging.getLogger(__name__)


class ImigrasiSettings(BackendSettings):
    """Imigrasi's own settings on top of the common ones."""

    poll_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="How long the hub waits before polling an application again (MPP_AGENCIES__IMIGRASI__POLL_INTERVAL_SECONDS).",
    )


#: Operation (catalogue) -> native application kind, canonical input and output models.
_OPERATIONS: Final[dict[str, tuple[JenisPermohonan, type[BaseModel], type[BaseModel]]]] = {
    "passport_new": (JenisPermohonan.BARU, PassportNewInput, PassportNewOutput),
    "passport_renewal": (JenisPermohonan.PENGGANTIAN, PassportRenewalInput, PassportRenewalOutput),
    "passport_lost_damaged": (JenisPermohonan.PENGGANTIAN_HILANG, PassportLostDamagedInput, PassportLostDamagedOutput),
    "passport_migrant_worker": (JenisPermohonan.PMI, MigrantWorkerPassportInput, MigrantWorkerPassportOutput),
}

_PASSPORT_TYPE: Final[dict[PassportType, JenisPaspor]] = {
    PassportType.NON_ELECTRONIC: JenisPaspor.NON_ELEKTRONIK,
    PassportType.ELECTRONIC: JenisPaspor.ELEKTRONIK,
}
_PASSPORT_TYPE_BACK: Final[dict[JenisPaspor, PassportType]] = {v: k for k, v in _PASSPORT_TYPE.items()}

_DOCUMENT: Final[dict[SupportingDocument, DokumenPendukung]] = {
    SupportingDocument.BIRTH_CERTIFICATE: DokumenPendukung.AKTA_KELAHIRAN,
    SupportingDocument.MARRIAGE_BOOK: DokumenPendukung.BUKU_NIKAH,
    SupportingDocument.DIPLOMA: DokumenPendukung.IJAZAH,
}
_DOCUMENT_BACK: Final[dict[str, str]] = {native.value: canonical.value for canonical, native in _DOCUMENT.items()}

#: Native status -> canonical status (the table in the module docstring).
STATUS_MAP: Final[dict[StatusPermohonan, Status]] = {
    StatusPermohonan.DITERIMA: Status.ACCEPTED,
    StatusPermohonan.MENUNGGU_PEMBAYARAN: Status.AWAITING_PAYMENT,
    StatusPermohonan.DIPROSES: Status.IN_PROCESS,
    StatusPermohonan.SIAP_DIAMBIL: Status.READY_FOR_PICKUP,
    StatusPermohonan.SELESAI: Status.COMPLETED,
    StatusPermohonan.DITOLAK: Status.REJECTED,
    StatusPermohonan.KEDALUWARSA: Status.EXPIRED,
    StatusPermohonan.BERKAS_DIKEMBALIKAN: Status.NEEDS_REVISION,
    StatusPermohonan.DIBATALKAN: Status.CANCELLED,
}

#: Refusals on the merits that arrive as soap:Client faults, with the canonical code.
_REJECTION_FAULTS: Final[dict[str, str]] = {
    KodeGalat.KUOTA_HABIS: "agency_quota_exhausted",
    KodeGalat.PASPOR_LAMA_TIDAK_TERDAFTAR: "old_passport_not_found",
    KodeGalat.MASA_BERLAKU_TIDAK_DIIZINKAN: "ten_year_passport_not_allowed",
    KodeGalat.SKCK_TIDAK_BERLAKU: "skck_expired",
}

#: ``KodeAlasan`` of DITOLAK / KEDALUWARSA -> canonical error code.
_REASONS: Final[dict[str, str]] = {
    "CEKAL": "travel_ban",
    "DOKUMEN_TIDAK_SESUAI": "documents_inconsistent",
    "BILLING_KEDALUWARSA": "billing_expired",
    "TIDAK_DIAMBIL": "not_collected",
}
_DEFAULT_REASON: Final[dict[Status, str]] = {
    Status.REJECTED: "application_refused",
    Status.EXPIRED: "application_expired",
    Status.NEEDS_REVISION: "documents_returned",
}

_KNOWN_STATUSES: Final[frozenset[str]] = frozenset(s.value for s in StatusPermohonan)


class ImigrasiAdapter(HttpAdapter):
    agency: ClassVar[str] = "imigrasi"
    label: ClassVar[str] = "Imigrasi"
    operations: ClassVar[frozenset[str]] = frozenset(_OPERATIONS)
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POLL, Capability.CANCEL})
    settings_model: ClassVar[type[BackendSettings]] = ImigrasiSettings
    #: SOAP 1.1 sends every fault with HTTP 500, so 500 is read (the faultcode decides).
    transient_statuses: ClassVar[frozenset[int]] = frozenset({408, 429, 502, 503, 504})

    settings: ImigrasiSettings

    # ------------------------------------------------------------------ Adapter API

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Submit the application; the step id is ``IdTransaksi``, applied once by Imigrasi."""
        kind, input_model, _ = self._operation(command)
        data: Any = self.parse_input(input_model, command)
        with self.native_request():
            native = PermohonanPaspor(
                IdTransaksi=str(step_id),
                Pemohon=DataPemohon(NIK=command.applicant.nik, NamaLengkap=command.applicant.name.strip()),
                TanggalKedatanganDiinginkan=data.appointment_date,
                DokumenPendukung=_DOCUMENT[data.supporting_document],
                **_application(kind, data),
            )
        log.info("imigrasi: submitting %s for %s (step %s)", kind.value, mask_nik(command.applicant.nik), step_id)
        body = await self._call(OP_AJUKAN, native)
        answer = _decode(body, HasilPengajuan, OP_AJUKAN)
        if answer.Status not in _KNOWN_STATUSES:
            raise _unknown_status(answer.Status)
        if answer.Status != StatusPermohonan.DITERIMA:
            # The protocol refuses with faults; a registration always answers DITERIMA.
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Imigrasi answered a submission with status {answer.Status}, expected DITERIMA"
            )
        return StepStatusReport(
            status=Status.ACCEPTED,
            outputs={"application_number": answer.NomorPermohonan, "appointment_date": answer.JadwalKedatangan.isoformat()},
            agency_status=answer.Status,
            agency_ref=answer.NomorPermohonan,
            poll_after_seconds=self.settings.poll_interval_seconds,
        )

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        """Ask where the application is and map the answer (see the module docstring)."""
        _, _, output_model = self._operation(command)
        body = await self._call(OP_CEK_STATUS, CekStatus(NomorPermohonan=agency_ref))
        answer = _decode(body, StatusPermohonanPaspor, OP_CEK_STATUS)
        if answer.NomorPermohonan != agency_ref:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Imigrasi answered about application {answer.NomorPermohonan}, asked about {agency_ref}"
            )
        return self._with_next_poll(_report(answer, output_model))

    async def cancel(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str | None) -> StepStatusReport:
        """Withdraw the application (``BatalkanPermohonan``); see the module docstring."""
        _, _, output_model = self._operation(command)
        request = BatalkanPermohonan(
            IdTransaksi=str(step_id), NomorPermohonan=agency_ref, AlasanPembatalan="Dibatalkan oleh pemohon melalui MPP."
        )
        try:
            body = await self._call(OP_BATALKAN, request)
        except AgencyAnswerInvalid as exc:
            if exc.agency_code != KodeGalat.PERMOHONAN_TIDAK_DITEMUKAN:
                raise
            log.info("imigrasi: nothing registered under step %s; cancelled before it applied", step_id)
            return StepStatusReport(status=Status.CANCELLED, agency_status=exc.agency_code, agency_ref=agency_ref)
        answer = _decode(body, StatusPermohonanPaspor, OP_BATALKAN)
        if agency_ref is not None and answer.NomorPermohonan != agency_ref:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Imigrasi cancelled application {answer.NomorPermohonan}, asked about {agency_ref}"
            )
        log.info("imigrasi: cancel of %s answered %s (step %s)", answer.NomorPermohonan, answer.Status, step_id)
        return self._with_next_poll(_report(answer, output_model))

    def _with_next_poll(self, report: StepStatusReport) -> StepStatusReport:
        """Keep polling while the application moves by itself; a final status or one
        waiting for the applicant (NEEDS_REVISION) ends the polling."""
        if report.status.is_terminal or report.status is Status.NEEDS_REVISION:
            return report
        return report.model_copy(update={"poll_after_seconds": self.settings.poll_interval_seconds})

    # ------------------------------------------------------------------ transport

    def _operation(self, command: StepCommand) -> tuple[JenisPermohonan, type[BaseModel], type[BaseModel]]:
        self.check_operation(command)
        return _OPERATIONS[command.operation]

    async def _call(self, operation: str, message: BaseModel) -> ET.Element:
        """POST one SOAP request; return the answer's body element or raise the mapped error."""
        envelope = amplop(elemen(operation, message))
        headers = {"Content-Type": CONTENT_TYPE, "SOAPAction": soap_action(operation)}
        response = await self.send("POST", PATH_LAYANAN, what=operation, content=envelope, headers=headers)
        transient = self.transient_error(response, what=operation)
        if transient is not None:
            raise transient
        status = response.status_code
        try:
            body = baca_amplop(response.content)
        except XmlTidakValid as exc:
            if status >= 500:
                # An application server's own error page instead of a SOAP fault.
                raise TransientBackendError(f"Imigrasi {operation}: HTTP {status} without a SOAP fault") from exc
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Imigrasi {operation}: HTTP {status} body is not a SOAP message ({exc})"
            ) from exc
        if is_fault(body):
            raise _fault_error(operation, body)
        if status != 200:
            raise AgencyAnswerInvalid("agency_answer_invalid", f"Imigrasi {operation}: unexpected HTTP {status}")
        if body.tag != q(respons(operation)):
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Imigrasi {operation}: answer element is {body.tag}, expected {respons(operation)}"
            )
        return body


# ---------------------------------------------------------------------- translation


def _application(kind: JenisPermohonan, data: Any) -> dict[str, Any]:
    """The native fields that depend on the kind of application."""
    if isinstance(data, MigrantWorkerPassportInput):
        return {
            "JenisPermohonan": JenisPermohonan.PMI,
            "JenisPaspor": JenisPaspor.NON_ELEKTRONIK,  # tarif nol rupiah: non-electronic, 5 years
            "MasaBerlaku": 5,
            "NomorSKCK": data.skck_number,
            "SKCKBerlakuSampai": data.skck_valid_until,
            "NegaraTujuan": data.destination_country,
            "NomorPerjanjianKerja": data.work_agreement_number,
        }
    fields: dict[str, Any] = {
        "JenisPermohonan": kind,
        "JenisPaspor": _PASSPORT_TYPE[data.passport_type],
        "MasaBerlaku": data.validity_years,
        "SudahMenikah": data.married,
    }
    if isinstance(data, PassportRenewalInput):
        fields["NomorPasporLama"] = data.old_passport_number
    if isinstance(data, PassportLostDamagedInput):
        lost = data.reason is PassportLossReason.LOST
        fields.update(
            JenisPermohonan=JenisPermohonan.PENGGANTIAN_HILANG if lost else JenisPermohonan.PENGGANTIAN_RUSAK,
            NomorPasporLama=data.old_passport_number,
            NomorLaporanKehilangan=data.police_report_number,
            KeadaanKahar=data.force_majeure or None,
        )
    return fields


def _decode(body: ET.Element, model: type[Any], operation: str) -> Any:
    """The answer element as its native model; anything off-schema is an invalid answer."""
    try:
        fields = isi_elemen(body)
    except XmlTidakValid as exc:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Imigrasi {operation} answer does not match its schema: {exc}") from exc
    if model is StatusPermohonanPaspor and "Status" in fields and fields["Status"] not in _KNOWN_STATUSES:
        # Checked before the schema: a new status is the likeliest change, and deserves its own reason.
        raise _unknown_status(str(fields["Status"]))
    return validated_answer(model, fields, f"Imigrasi {operation} answer does not match its schema")


def _unknown_status(value: str) -> AgencyAnswerInvalid:
    return AgencyAnswerInvalid(
        "agency_status_unknown",
        f"Imigrasi reported status {value[:60]!r}, which this adapter does not know",
        agency_code=value[:100] or None,
    )


def _fault_error(operation: str, body: ET.Element) -> Exception:
    try:
        fault = baca_fault(body)
    except XmlTidakValid as exc:
        return AgencyAnswerInvalid("agency_answer_invalid", f"Imigrasi {operation}: unreadable SOAP fault ({exc})")
    code = fault.detail.KodeGalat if fault.detail else None
    message = (fault.detail.Pesan if fault.detail else "") or fault.faultstring or "(no reason given)"
    if fault.kind == "Server":
        retry_after = float(fault.detail.DetikCobaLagi) if fault.detail and fault.detail.DetikCobaLagi is not None else None
        return TransientBackendError(f"Imigrasi {operation}: {code or fault.faultcode}: {message}", retry_after=retry_after)
    if fault.kind == "Client":
        if code in _REJECTION_FAULTS:
            return AgencyRejection(_REJECTION_FAULTS[code], message, agency_code=code)
        return AgencyAnswerInvalid(
            "agency_refused_request", f"Imigrasi refused the {operation} request: {message}", agency_code=code or fault.faultcode
        )
    return AgencyAnswerInvalid(
        "agency_answer_invalid", f"Imigrasi {operation}: SOAP fault with unknown faultcode {fault.faultcode!r}: {message}"
    )


def _report(answer: StatusPermohonanPaspor, output_model: type[BaseModel]) -> StepStatusReport:
    native = StatusPermohonan(answer.Status)
    status = STATUS_MAP[native]
    base = {"application_number": answer.NomorPermohonan, "appointment_date": answer.JadwalKedatangan.isoformat()}
    if status is Status.NEEDS_REVISION:
        returned = _require(answer.DokumenDikembalikan, "DokumenDikembalikan", native)
        reason = answer.KodeAlasan or ""
        explanation = answer.Alasan or answer.Keterangan
        correction = {"field": "supporting_document", "value": _DOCUMENT_BACK.get(returned, returned), "reason": explanation}
        # The message names the canonical field too: it is what the case shows even where outputs are not kept.
        message = f"correct supporting_document ({correction['value']}): {explanation}"
        error = StepError(code=_REASONS.get(reason, _DEFAULT_REASON[status]), message=message, agency_code=reason or native.value)
        return StepStatusReport(
            status=status,
            outputs={**base, "corrections": [correction]},
            error=error,
            agency_status=native.value,
            agency_ref=answer.NomorPermohonan,
        )
    if status is Status.CANCELLED:
        return StepStatusReport(status=status, outputs=base, agency_status=native.value, agency_ref=answer.NomorPermohonan)
    if status in (Status.REJECTED, Status.EXPIRED):
        reason = answer.KodeAlasan or ""
        error = StepError(
            code=_REASONS.get(reason, _DEFAULT_REASON[status]),
            message=answer.Alasan or answer.Keterangan,
            agency_code=reason or native.value,
        )
        return StepStatusReport(status=status, error=error, agency_status=native.value, agency_ref=answer.NomorPermohonan)
    outputs = _completed(answer, output_model) if status is Status.COMPLETED else _progress(answer, native)
    return StepStatusReport(status=status, outputs=outputs, agency_status=native.value, agency_ref=answer.NomorPermohonan)


def _require(value: Any, what: str, native: StatusPermohonan) -> Any:
    if value is None:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Imigrasi status {native.value} without {what}")
    return value


def _progress(answer: StatusPermohonanPaspor, native: StatusPermohonan) -> dict[str, Any]:
    """Cumulative outputs of a non-final status; each stage requires what it implies."""
    outputs: dict[str, Any] = {"application_number": answer.NomorPermohonan, "appointment_date": answer.JadwalKedatangan.isoformat()}
    if native is StatusPermohonan.DITERIMA:
        return outputs
    if answer.JenisPermohonan is not JenisPermohonan.PMI:  # a PMI passport is free: no billing at all
        billing = _require(answer.Tagihan, "Tagihan (billing)", native)
        outputs.update(billing_code=billing.KodeBilling, amount=billing.JumlahTagihan, pay_before=billing.BatasPembayaran.isoformat())
        if native is StatusPermohonan.MENUNGGU_PEMBAYARAN:
            return outputs
        outputs.update(
            paid_on=_iso(_require(billing.TanggalBayar, "Tagihan.TanggalBayar", native)),
            ntpn=_require(billing.NTPN, "Tagihan.NTPN", native),
        )
    if native is StatusPermohonan.DIPROSES:
        if answer.PerkiraanSelesai is not None:
            outputs["expected_ready_on"] = answer.PerkiraanSelesai.isoformat()
        return outputs
    passport = _require(answer.Paspor, "Paspor", native)
    outputs.update(
        passport_number=passport.NomorPaspor,
        issued_on=passport.TanggalTerbit.isoformat(),
        expires_on=passport.TanggalHabisBerlaku.isoformat(),
        pickup_before=passport.BatasPengambilan.isoformat(),
    )
    return outputs


def _completed(answer: StatusPermohonanPaspor, output_model: type[BaseModel]) -> dict[str, Any]:
    native = StatusPermohonan.SELESAI
    passport = _require(answer.Paspor, "Paspor", native)
    values: dict[str, Any] = {
        "application_number": answer.NomorPermohonan,
        "passport_number": passport.NomorPaspor,
        "passport_type": _PASSPORT_TYPE_BACK[passport.JenisPaspor],
        "validity_years": passport.MasaBerlaku,
        "issued_on": passport.TanggalTerbit,
        "expires_on": passport.TanggalHabisBerlaku,
        "picked_up_on": _require(passport.TanggalDiambil, "Paspor.TanggalDiambil", native),
        "amount_paid": 0,
    }
    if output_model is not MigrantWorkerPassportOutput:
        billing = _require(answer.Tagihan, "Tagihan (billing)", native)
        values.update(
            amount_paid=billing.JumlahTagihan, billing_code=billing.KodeBilling, ntpn=_require(billing.NTPN, "Tagihan.NTPN", native)
        )
    if output_model is PassportRenewalOutput:
        values["replaced_passport_number"] = _require(answer.NomorPasporLama, "NomorPasporLama", native)
    if output_model is PassportLostDamagedOutput:
        values.update(
            replaced_passport_number=answer.NomorPasporLama,
            examination_number=_require(answer.NomorBAP, "NomorBAP", native),
            charge=_require(answer.BiayaBeban, "BiayaBeban", native),
        )
    problem = f"Imigrasi's completed application does not fit {output_model.__name__}"
    return validated_answer(output_model, values, problem, code="agency_output_invalid").model_dump(mode="json")


def _iso(value: date) -> str:
    return value.isoformat()
