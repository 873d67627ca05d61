"""Kemenhaj adapter: canonical hajj services <-> Siskohat's batch exchange (``BackendStyle.BATCH``).

``execute`` puts the command as one record into Siskohat's open batch
(``PUT .../inbox/rekaman/{step id}``: the step id is the record id, so a repeated
command is the same record, never a second one) and reports ACCEPTED with
``<id_batch>/<step id>`` as ``agency_ref`` and ``poll_after_seconds`` reaching just
past the batch's cut-off. ``poll`` reads the batch's result file
(``GET .../outbox/{id_batch}``): while the batch is open (409
``BATCH_BELUM_DITUTUP``) it reports ACCEPTED again with a new ``poll_after_seconds``;
once the file is out it reports the step's line:

=================  ==========  ===============================================
``TERDAFTAR``      COMPLETED   haji.regular_registration outputs
``DIBATALKAN``     COMPLETED   haji.cancellation outputs
``DILIMPAHKAN``    COMPLETED   haji.portion_transfer outputs
``DITOLAK``        REJECTED    error from ``kode_tolak`` (table ``_REASONS``)
=================  ==========  ===============================================

A file without the step's line, a line of another kind, or a status this adapter
does not know is an invalid answer (FAILED with the reason), never a crash.

Synchronous errors: transport failures and 408/425/500/502/503/504 are transient
(the worker retries, ``Retry-After`` respected); 429 ``KUOTA_HARIAN_HABIS`` is a
refusal (``agency_quota_exhausted``); anything else -- 401 (a wrong key), 409
``REKAMAN_BENTROK``, 422, 404 for a batch -- is an invalid answer.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any, ClassVar, Final

import httpx
from pydantic import BaseModel, Field, ValidationError

from adapters.kemenhaj import native
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.base import Capability, validated_answer
from adapters.sdk.batch import RecordRef, poll_after_cutoff
from adapters.sdk.http import HttpAdapter, json_answer, retry_after_seconds
from adapters.sdk.settings import ApiKeySettings
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepError, StepStatusReport
from schemas.services import haji

log = logging.getLogger(__name__)

AGENCY: Final[str] = "kemenhaj"


class KemenhajSettings(ApiKeySettings):
    """BackendSettings plus Siskohat's key and how the result files are awaited."""

    result_margin_seconds: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="Wait after a batch's cut-off before reading its result file (MPP_AGENCIES__KEMENHAJ__RESULT_MARGIN_SECONDS).",
    )
    poll_interval_seconds: float = Field(
        default=300.0, gt=0, le=86_400,
        description="Least wait before asking for a result file again (MPP_AGENCIES__KEMENHAJ__POLL_INTERVAL_SECONDS).",
    )  # fmt: skip


_OPERATIONS: Final[dict[str, native.JenisRekaman]] = {
    "regular_registration": native.JenisRekaman.PENDAFTARAN,
    "cancellation": native.JenisRekaman.PEMBATALAN,
    "portion_transfer": native.JenisRekaman.PELIMPAHAN,
}
_REASONS: Final[dict[str, str]] = {
    native.KodeTolak.USIA_BELUM_12_TAHUN: "under_minimum_age",
    native.KodeTolak.SUDAH_TERDAFTAR: "already_registered",
    native.KodeTolak.SETORAN_LEWAT_5_HARI_KERJA: "deposit_registration_window_passed",
    native.KodeTolak.PORSI_TIDAK_DITEMUKAN: "portion_not_found",
    native.KodeTolak.PORSI_TIDAK_AKTIF: "portion_not_active",
    native.KodeTolak.NIK_JEMAAH_TIDAK_SESUAI: "registrant_mismatch",
    native.KodeTolak.SUDAH_PERNAH_DILIMPAHKAN: "portion_already_transferred",
    native.KodeTolak.WAFAT_SEBELUM_29_APRIL_2019: "death_before_transfer_rule",
    native.KodeTolak.AHLI_WARIS_SUDAH_TERDAFTAR: "heir_already_registered",
}
_REASON: Final[dict[haji.CancellationReason, native.AlasanBatal]] = {
    haji.CancellationReason.WITHDRAWN: native.AlasanBatal.MENGUNDURKAN_DIRI,
    haji.CancellationReason.DIED: native.AlasanBatal.MENINGGAL_DUNIA,
}
_GROUND: Final[dict[haji.TransferGround, native.SebabPelimpahan]] = {
    haji.TransferGround.DIED: native.SebabPelimpahan.MENINGGAL_DUNIA,
    haji.TransferGround.PERMANENTLY_ILL: native.SebabPelimpahan.SAKIT_PERMANEN,
}
_RELATIONSHIP: Final[dict[haji.HeirRelationship, native.Hubungan]] = {
    haji.HeirRelationship.SPOUSE: native.Hubungan.SUAMI_ISTRI,
    haji.HeirRelationship.FATHER: native.Hubungan.AYAH,
    haji.HeirRelationship.MOTHER: native.Hubungan.IBU,
    haji.HeirRelationship.CHILD: native.Hubungan.ANAK_KANDUNG,
    haji.HeirRelationship.SIBLING: native.Hubungan.SAUDARA_KANDUNG,
}
_DONE: Final[dict[native.StatusHasil, native.JenisRekaman]] = {
    native.StatusHasil.TERDAFTAR: native.JenisRekaman.PENDAFTARAN,
    native.StatusHasil.DIBATALKAN: native.JenisRekaman.PEMBATALAN,
    native.StatusHasil.DILIMPAHKAN: native.JenisRekaman.PELIMPAHAN,
}


class KemenhajAdapter(HttpAdapter):
    agency: ClassVar[str] = AGENCY
    label: ClassVar[str] = "Siskohat"
    operations: ClassVar[frozenset[str]] = frozenset(_OPERATIONS)
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.BATCH, Capability.POLL})
    settings_model: ClassVar[type[BackendSettings]] = KemenhajSettings
    api_key_header: ClassVar[str | None] = native.HEADER_API_KEY

    settings: KemenhajSettings

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        """Put the record into the open batch; the step id is the record id."""
        self.check_operation(command)
        record = self._record(command)
        log.info("kemenhaj: putting a %s record for %s (step %s)", record["jenis"], mask_nik(command.applicant.nik), step_id)
        path = native.PATH_INBOX.format(id_rekaman=step_id)
        response = await self.send("PUT", path, what="record", json=record)
        if response.status_code != 202:
            raise self.transient_error(response, what="record") or _error_for(response, "record")
        receipt = json_answer(native.TandaTerima, response, "Siskohat receipt does not match its schema")
        if receipt.id_rekaman != str(step_id):
            raise AgencyAnswerInvalid("agency_answer_invalid", f"Siskohat acknowledged record {receipt.id_rekaman[:64]!r}, not {step_id}")
        ref = RecordRef(receipt.id_batch, receipt.id_rekaman)
        return StepStatusReport(
            status=Status.ACCEPTED,
            outputs={"batch": receipt.id_batch, "record_number": receipt.nomor_urut},
            agency_status=receipt.status,
            agency_ref=str(ref),
            poll_after_seconds=self._after(receipt.batas_tutup),
        )

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        """Read the batch's result file and report the step's line (or wait for the file)."""
        self.check_operation(command)
        ref = RecordRef.parse(agency_ref)
        response = await self.send("GET", native.PATH_OUTBOX.format(id_batch=ref.batch), what="result file")
        if response.status_code == 409 and _code(response) == native.KodeGalat.BATCH_BELUM_DITUTUP:
            wait = retry_after_seconds(response) or 0.0
            poll_after = max(self.settings.poll_interval_seconds if wait == 0 else 0.0, wait + self.settings.result_margin_seconds)
            return StepStatusReport(
                status=Status.ACCEPTED, agency_status="DALAM_BATCH", agency_ref=agency_ref, poll_after_seconds=poll_after
            )
        if response.status_code != 200:
            raise self.transient_error(response, what="result file") or _error_for(response, "result file")
        line = _line_of(response, ref)
        return self._report(line, _OPERATIONS[command.operation], agency_ref)

    # ------------------------------------------------------------------ translation

    def _report(self, line: native.HasilRekaman, expected: native.JenisRekaman, agency_ref: str) -> StepStatusReport:
        if line.jenis is not expected:
            raise AgencyAnswerInvalid(
                "agency_answer_invalid", f"Siskohat answered a {line.jenis.value} record, the step put a {expected.value} one"
            )
        if line.status is native.StatusHasil.DITOLAK:
            code = line.kode_tolak or "DITOLAK"
            error = StepError(
                code=_REASONS.get(code, "application_refused"), message=line.keterangan or "refused by Siskohat", agency_code=code
            )
            return StepStatusReport(status=Status.REJECTED, error=error, agency_status=line.status.value, agency_ref=agency_ref)
        if _DONE[line.status] is not expected:
            raise AgencyAnswerInvalid("agency_answer_invalid", f"Siskohat reported {line.status.value} for a {expected.value} record")
        with self.canonical_output():
            output = _output(line)
        return self.completed(output, line.status.value, agency_ref)

    def _after(self, cutoff: datetime) -> float:
        return poll_after_cutoff(
            cutoff, margin_seconds=self.settings.result_margin_seconds, floor_seconds=min(1.0, self.settings.poll_interval_seconds)
        )

    def _record(self, command: StepCommand) -> dict[str, Any]:
        jenis = _OPERATIONS[command.operation]
        with self.native_request():
            if jenis is native.JenisRekaman.PENDAFTARAN:
                reg = self.parse_input(haji.RegularHajjRegistrationInput, command)
                model: BaseModel = native.RekamanPendaftaran(
                    jenis=jenis, nik=command.applicant.nik, nama=command.applicant.name, no_kk=reg.family_card_number,
                    kode_kantor=reg.registration_office, bank_bps=reg.deposit_bank, nomor_validasi=reg.deposit_validation_number,
                    nominal_setoran=reg.deposit_amount, tanggal_setoran=reg.deposit_date, no_surat_sehat=reg.health_certificate_number,
                )  # fmt: skip
            elif jenis is native.JenisRekaman.PEMBATALAN:
                can = self.parse_input(haji.HajjCancellationInput, command)
                model = native.RekamanPembatalan(
                    jenis=jenis, nomor_porsi=can.portion_number, nik_jemaah=can.registrant_nik, nik_pemohon=command.applicant.nik,
                    alasan=_REASON[can.reason], no_rekening=can.refund_account_number, no_akta_kematian=can.death_certificate_number,
                )  # fmt: skip
            else:
                tr = self.parse_input(haji.HajjPortionTransferInput, command)
                model = native.RekamanPelimpahan(
                    jenis=jenis, nomor_porsi=tr.portion_number, nik_jemaah=tr.registrant_nik, sebab=_GROUND[tr.ground],
                    nik_penerima=tr.heir_nik, nama_penerima=tr.heir_name, hubungan=_RELATIONSHIP[tr.relationship],
                    tanggal_wafat=tr.death_date, nomor_surat=tr.certificate_number,
                )  # fmt: skip
        return model.model_dump(mode="json", exclude_none=True)


def _code(response: httpx.Response) -> str | None:
    try:
        return native.BalasanGalat.model_validate_json(response.content).galat.kode.value
    except ValidationError:
        return None


def _validate(model: type[Any], raw: Any, what: str) -> Any:
    return validated_answer(model, raw, f"Siskohat {what} does not match its schema")


def _error_for(response: httpx.Response, what: str) -> Exception:
    """A non-transient error answer: the daily quota is a refusal, the rest is our request's fault."""
    code = _code(response)
    if response.status_code == 429 and code == native.KodeGalat.KUOTA_HARIAN_HABIS:
        return AgencyRejection("agency_quota_exhausted", "Siskohat takes no more records today", agency_code=code)
    detail = f" {code}" if code else " with a body that is not a Siskohat error"
    return AgencyAnswerInvalid("agency_answer_invalid", f"Siskohat {what}: HTTP {response.status_code}{detail}", agency_code=code)


def _line_of(response: httpx.Response, ref: RecordRef) -> native.HasilRekaman:
    """The step's line in the batch's result file (NDJSON: a header line, then one line per record)."""
    if not response.headers.get("content-type", "").startswith(native.MEDIA_NDJSON):
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Siskohat result file is {response.headers.get('content-type')!r}, not NDJSON")
    try:
        rows = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    except ValueError:
        raise AgencyAnswerInvalid("agency_answer_invalid", "Siskohat result file has a line that is not JSON") from None
    if not rows:
        raise AgencyAnswerInvalid("agency_answer_invalid", "Siskohat result file is empty")
    head = _validate(native.KepalaBerkas, rows[0], "result file header")
    if head.id_batch != ref.batch or head.jumlah_rekaman != len(rows) - 1:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Siskohat result file header does not fit batch {ref.batch}")
    for row in rows[1:]:
        if isinstance(row, dict) and row.get("id_rekaman") == ref.record:
            status = row.get("status")
            if status not in set(native.StatusHasil):
                raise AgencyAnswerInvalid(
                    "agency_status_unknown", f"Siskohat reported status {str(status)[:40]!r}", agency_code=str(status)[:40]
                )
            return _validate(native.HasilRekaman, row, "result line")  # type: ignore[no-any-return]
    raise AgencyAnswerInvalid(
        "record_missing_from_batch", f"Siskohat's result file of batch {ref.batch} has no line for record {ref.record}"
    )


def _output(line: native.HasilRekaman) -> BaseModel:
    """The service's output from a completed line; a line that cannot make one raises ValidationError."""
    if line.status is native.StatusHasil.TERDAFTAR:
        return haji.RegularHajjRegistrationOutput.model_validate(
            {"portion_number": line.nomor_porsi, "spph_number": line.nomor_spph, "registered_on": line.tanggal,
             "estimated_departure_year": line.estimasi_berangkat, "deposit_validation_number": line.nomor_validasi_bank}
        )  # fmt: skip
    if line.status is native.StatusHasil.DIBATALKAN:
        return haji.HajjCancellationOutput.model_validate(
            {"portion_number": line.nomor_porsi, "cancelled_on": line.tanggal, "refund_amount": line.dana_kembali,
             "refund_expected_by": line.perkiraan_dana_diterima}
        )  # fmt: skip
    return haji.HajjPortionTransferOutput.model_validate(
        {"portion_number": line.nomor_porsi, "spph_number": line.nomor_spph, "transferred_on": line.tanggal,
         "estimated_departure_year": line.estimasi_berangkat}
    )  # fmt: skip


__all__ = ["KemenhajAdapter", "KemenhajSettings"]
