"""The OSS adapter's building-approval (PBG) service through SIMBG: canonical
``oss.pbg_application`` <-> SIMBG's application and status answers, polled.

``execute`` registers the application (``POST /simbg/api/v1/pbg``, the step id as
``nomor_referensi``) and reports ACCEPTED with the ``nomor_registrasi`` as
``agency_ref``; the hub's poller then asks where it is. Status mapping, here only:

========================  ================  ==========================================
``VERIFIKASI_DOKUMEN``    IN_PROCESS        registration_number, review_path
``KONSULTASI_TPA``        IN_PROCESS        same (the expert team examines the plan)
``SPPST_TERBIT``          IN_PROCESS        + sppst_number
``RETRIBUSI_DITETAPKAN``  AWAITING_PAYMENT  + retribution_amount, retribution_billing_code
``PBG_TERBIT``            COMPLETED         the service's output model
``DITOLAK``               REJECTED          ``kode_tolak`` (``_REFUSALS``), else ``application_refused``
anything else             FAILED            ``agency_status_unknown``
========================  ================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from adapters.oss.simbg import FungsiBangunan, JalurPbg, KeadaanPbg, PermohonanPbg, StatusPbg
from adapters.sdk import AgencyAnswerInvalid
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepError, StepStatusReport
from schemas.services.pbg import BuildingFunction, PbgApplicationInput, PbgApplicationOutput, ReviewPath

OPERATION: Final[str] = "pbg_application"

_FUNCTION: Final[dict[BuildingFunction, FungsiBangunan]] = {
    BuildingFunction.RESIDENTIAL: FungsiBangunan.HUNIAN,
    BuildingFunction.BUSINESS: FungsiBangunan.USAHA,
    BuildingFunction.MIXED: FungsiBangunan.CAMPURAN,
}
_PATH: Final[dict[JalurPbg, ReviewPath]] = {
    JalurPbg.PROTOTIPE: ReviewPath.PROTOTYPE,
    JalurPbg.KONSULTASI_TPA: ReviewPath.TECHNICAL_CONSULTATION,
}
_REFUSALS: Final[dict[str, str]] = {"MELEBIHI_KETINGGIAN_MAKSIMUM": "building_exceeds_height_limit"}
_RUNNING: Final[dict[StatusPbg, Status]] = {
    StatusPbg.VERIFIKASI_DOKUMEN: Status.IN_PROCESS,
    StatusPbg.KONSULTASI_TPA: Status.IN_PROCESS,
    StatusPbg.SPPST_TERBIT: Status.IN_PROCESS,
    StatusPbg.RETRIBUSI_DITETAPKAN: Status.AWAITING_PAYMENT,
}


def application(data: PbgApplicationInput, command: StepCommand, reference: str) -> PermohonanPbg:
    """The native application; raises ValidationError when SIMBG's format cannot carry the input."""
    return PermohonanPbg(
        nomor_referensi=reference, nik_pemohon=command.applicant.nik, nama_pemohon=command.applicant.name,
        fungsi_bangunan=_FUNCTION[data.building_function], jumlah_lantai=data.floors, luas_lantai=data.floor_area_m2,
        no_sertifikat_tanah=data.land_title_number, kd_daerah=data.regency_code,
        dokumen_rencana_teknis=data.technical_plan_reference, kode_prototipe=data.prototype_design,
    )  # fmt: skip


def running_outputs(answer: KeadaanPbg) -> dict[str, Any]:
    """What a step still running reports: cumulative, since each report replaces the last."""
    outputs: dict[str, Any] = {"registration_number": answer.nomor_registrasi, "review_path": _PATH[answer.jalur].value}
    if answer.nomor_sppst:
        outputs["sppst_number"] = answer.nomor_sppst
    if answer.retribusi is not None and answer.kode_billing:
        outputs.update(retribution_amount=answer.retribusi, retribution_billing_code=answer.kode_billing)
    return outputs


def report(answer: KeadaanPbg, agency_ref: str, poll_after: float, issued: Callable[[KeadaanPbg], StepStatusReport]) -> StepStatusReport:
    """The canonical report of one status answer (the table in the module docstring);
    ``issued`` completes the step with the approval (the adapter builds the output)."""
    if answer.status not in set(StatusPbg):
        raise AgencyAnswerInvalid("agency_status_unknown", f"SIMBG reported status {answer.status[:40]!r}", agency_code=answer.status[:50])
    status = StatusPbg(answer.status)
    if status is StatusPbg.DITOLAK:
        code = answer.kode_tolak or "DITOLAK"
        error = StepError(code=_REFUSALS.get(code, "application_refused"), message=answer.keterangan[:1000], agency_code=code[:50])
        return StepStatusReport(status=Status.REJECTED, error=error, agency_status=status.value, agency_ref=agency_ref)
    if status is StatusPbg.PBG_TERBIT:
        return issued(answer)
    return StepStatusReport(
        status=_RUNNING[status],
        outputs=running_outputs(answer),
        agency_status=status.value,
        agency_ref=agency_ref,
        poll_after_seconds=poll_after,
    )


def output(answer: KeadaanPbg) -> PbgApplicationOutput:
    """The issued approval; raises ValidationError when SIMBG left something out."""
    return PbgApplicationOutput.model_validate(
        {"pbg_number": answer.nomor_pbg, "issued_on": answer.tgl_terbit, "review_path": _PATH[answer.jalur],
         "sppst_number": answer.nomor_sppst, "retribution_amount": answer.retribusi, "retribution_billing_code": answer.kode_billing}
    )  # fmt: skip
