"""Polri adapter: canonical <-> Polri's asynchronous REST/JSON with signed callbacks.

``execute`` files the application and returns ACCEPTED with Polri's
``nomor_registrasi`` as ``agency_ref``; the verdict arrives later at the hub's callback
endpoint, which verifies the signature and hands the body to ``translate_callback``.

Status mapping (native ``status`` -> canonical), here and nowhere else:

===============  ==============  ===============================================
Polri            canonical       notes
===============  ==============  ===============================================
``DITERIMA``     ACCEPTED        the 202 receipt (or a callback repeating it)
``DIPROSES``     IN_PROCESS      e.g. a record hit held for coordination
``TERBIT``       COMPLETED       outputs from the ``skck`` / ``sim`` / ``cek_fisik`` document
``DITOLAK``      REJECTED        ``penolakan.kode_alasan`` -> error code below
anything else    FAILED          ``AgencyAnswerInvalid("agency_status_unknown")``
===============  ==============  ===============================================

Refusal reasons: ``CATATAN_KRIMINAL`` -> ``police_record_hit``,
``SKCK_LAMA_TIDAK_DITEMUKAN`` -> ``previous_skck_not_found``,
``SKCK_LAMA_KADALUARSA`` -> ``previous_skck_expired``, ``SIM_TIDAK_DITEMUKAN`` ->
``licence_not_found``, ``SIM_KADALUARSA`` -> ``licence_expired``; for the vehicle check
``KENDARAAN_DIBLOKIR`` -> ``vehicle_blocked``, ``CEK_FISIK_TIDAK_SESUAI`` ->
``physical_check_mismatch``, ``NOPOL_TIDAK_TERDAFTAR`` -> ``vehicle_not_registered``;
for SKCK and SIM (active JKN membership, Perpol 6/2023 and 2/2023) ``JKN_TIDAK_AKTIF``
-> ``jkn_inactive``, ``JKN_TIDAK_TERDAFTAR`` -> ``jkn_not_registered``,
``JKN_TIDAK_SESUAI`` -> ``jkn_card_mismatch``; for the SPKT loss report
``KEJADIAN_BELUM_TERJADI`` -> ``loss_date_in_future``.
A reason Polri adds
later is still a refusal on the merits: ``agency_rejected`` with its own code kept in
``agency_code``.

Synchronous errors: transport failures, 408/425/500/502/503/504 are transient (retried
by the worker, ``Retry-After`` respected); 429 ``KUOTA_HARIAN_HABIS`` is a refusal
(``agency_quota_exhausted``: retrying today will not help); anything else, and any
answer that does not parse, is an invalid answer (FAILED with the reason).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, HttpUrl, ValidationError

from adapters.polri.native import (
    HEADER_REQUEST_ID,
    PATH_CEK_FISIK,
    PATH_LAPORAN_KEHILANGAN,
    PATH_SIM_PERPANJANGAN,
    PATH_SKCK,
    BarangHilang,
    GalatPolri,
    GolonganSim,
    JenisBarang,
    JenisKendaraan,
    JenisPermohonanSkck,
    KodeAlasan,
    KodeGalat,
    Layanan,
    PemberitahuanStatus,
    PermohonanCekFisik,
    PermohonanLaporanKehilangan,
    PermohonanPerpanjanganSim,
    PermohonanSkck,
    StatusPermohonan,
    TandaTerima,
)
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection, BackendSettings
from adapters.sdk.base import Capability
from adapters.sdk.callbacks import callback_url
from adapters.sdk.http import HttpAdapter
from adapters.sdk.settings import NonBlankSecret
from schemas.identifiers import mask_nik
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, StepCommand, StepError, StepStatusReport
from schemas.services.polri import (
    LicenceClass,
    LossReportInput,
    LossReportOutput,
    LostItemKind,
    SimRenewalInput,
    SimRenewalOutput,
    SkckNewInput,
    SkckOutput,
    SkckRenewalInput,
    VehicleCheckInput,
    VehicleCheckOutput,
)
from schemas.services.samsat import PhysicalCheck, VehicleType
from schemas.validation import describe

log = logging.getLogger(__name__)

AGENCY = "polri"

_GOLONGAN: dict[LicenceClass, GolonganSim] = {
    LicenceClass.A: GolonganSim.A,
    LicenceClass.B1: GolonganSim.B_I,
    LicenceClass.B2: GolonganSim.B_II,
    LicenceClass.C: GolonganSim.C,
    LicenceClass.C1: GolonganSim.C_I,
    LicenceClass.C2: GolonganSim.C_II,
    LicenceClass.D: GolonganSim.D,
    LicenceClass.D1: GolonganSim.D_I,
}
_LICENCE_CLASS: dict[GolonganSim, LicenceClass] = {native: canonical for canonical, native in _GOLONGAN.items()}

_STATUS: dict[StatusPermohonan, Status] = {
    StatusPermohonan.DITERIMA: Status.ACCEPTED,
    StatusPermohonan.DIPROSES: Status.IN_PROCESS,
    StatusPermohonan.TERBIT: Status.COMPLETED,
    StatusPermohonan.DITOLAK: Status.REJECTED,
}
_REASONS: dict[str, str] = {
    KodeAlasan.CATATAN_KRIMINAL: "police_record_hit",
    KodeAlasan.SKCK_LAMA_TIDAK_DITEMUKAN: "previous_skck_not_found",
    KodeAlasan.SKCK_LAMA_KADALUARSA: "previous_skck_expired",
    KodeAlasan.SIM_TIDAK_DITEMUKAN: "licence_not_found",
    KodeAlasan.SIM_KADALUARSA: "licence_expired",
    KodeAlasan.NOPOL_TIDAK_TERDAFTAR: "vehicle_not_registered",
    KodeAlasan.KENDARAAN_DIBLOKIR: "vehicle_blocked",
    KodeAlasan.CEK_FISIK_TIDAK_SESUAI: "physical_check_mismatch",
    KodeAlasan.JKN_TIDAK_AKTIF: "jkn_inactive",
    KodeAlasan.JKN_TIDAK_TERDAFTAR: "jkn_not_registered",
    KodeAlasan.JKN_TIDAK_SESUAI: "jkn_card_mismatch",
    KodeAlasan.KEJADIAN_BELUM_TERJADI: "loss_date_in_future",
}
_JENIS_KENDARAAN: dict[VehicleType, JenisKendaraan] = {VehicleType.CAR: JenisKendaraan.MOBIL, VehicleType.MOTORCYCLE: JenisKendaraan.MOTOR}
_JENIS_BARANG: dict[LostItemKind, JenisBarang] = {
    LostItemKind.ID_CARD: JenisBarang.KTP,
    LostItemKind.FAMILY_CARD: JenisBarang.KK,
    LostItemKind.DRIVING_LICENCE: JenisBarang.SIM,
    LostItemKind.VEHICLE_REGISTRATION: JenisBarang.STNK,
    LostItemKind.VEHICLE_OWNERSHIP_BOOK: JenisBarang.BPKB,
    LostItemKind.PASSPORT: JenisBarang.PASPOR,
    LostItemKind.BANK_CARD: JenisBarang.KARTU_ATM,
    LostItemKind.MARRIAGE_BOOK: JenisBarang.BUKU_NIKAH,
    LostItemKind.DIPLOMA: JenisBarang.IJAZAH,
    LostItemKind.OTHER: JenisBarang.LAINNYA,
}
_LOST_ITEM_KIND: dict[JenisBarang, LostItemKind] = {native: canonical for canonical, native in _JENIS_BARANG.items()}


@dataclass(frozen=True)
class _Application:
    """How one operation is filed: the service at Polri, where, and the native request
    made of the canonical input and the fields every application carries."""

    layanan: Layanan
    path: str
    input: type[BaseModel]
    native: Callable[[Any, dict[str, Any]], BaseModel]


def _skck(application: SkckNewInput, common: dict[str, Any]) -> PermohonanSkck:
    """A first SKCK, or a renewal (the same application naming the old SKCK)."""
    renewal = application if isinstance(application, SkckRenewalInput) else None
    return PermohonanSkck(
        **common,
        jenis_permohonan=JenisPermohonanSkck.PERPANJANGAN if renewal else JenisPermohonanSkck.BARU,
        alamat_domisili=application.address,
        keperluan=application.purpose,
        nomor_skck_lama=renewal.old_skck_number if renewal else None,
        masa_berlaku_skck_lama=renewal.old_skck_valid_until if renewal else None,
        no_kartu_jkn=application.jkn_card_number,
    )


def _sim_renewal(sim: SimRenewalInput, common: dict[str, Any]) -> PermohonanPerpanjanganSim:
    return PermohonanPerpanjanganSim(
        **common,
        golongan_sim=_GOLONGAN[sim.licence_class],
        nomor_sim_lama=sim.old_sim_number,
        masa_berlaku_sim_lama=sim.old_valid_until,
        no_kartu_jkn=sim.jkn_card_number,
    )


def _vehicle_check(vehicle: VehicleCheckInput, common: dict[str, Any]) -> PermohonanCekFisik:
    return PermohonanCekFisik(
        **common,
        nopol=vehicle.plate,
        jenis_kendaraan=_JENIS_KENDARAAN[vehicle.vehicle_type],
        nomor_rangka=vehicle.chassis_number,
        nomor_mesin=vehicle.engine_number,
    )


def _loss_report(report: LossReportInput, common: dict[str, Any]) -> PermohonanLaporanKehilangan:
    return PermohonanLaporanKehilangan(
        **common,
        barang=[
            BarangHilang(jenis=_JENIS_BARANG[item.kind], nomor_dokumen=item.document_number, keterangan=item.description)
            for item in report.items
        ],
        tanggal_kejadian=report.lost_on,
        tempat_kejadian=report.place,
        kronologi=report.chronology,
    )


_OPERATIONS: dict[str, _Application] = {
    "skck_new": _Application(Layanan.SKCK_BARU, PATH_SKCK, SkckNewInput, _skck),
    "skck_renewal": _Application(Layanan.SKCK_PERPANJANGAN, PATH_SKCK, SkckRenewalInput, _skck),
    "sim_renewal": _Application(Layanan.SIM_PERPANJANGAN, PATH_SIM_PERPANJANGAN, SimRenewalInput, _sim_renewal),
    "vehicle_check": _Application(Layanan.CEK_FISIK_KENDARAAN, PATH_CEK_FISIK, VehicleCheckInput, _vehicle_check),
    "loss_report": _Application(Layanan.LAPORAN_KEHILANGAN, PATH_LAPORAN_KEHILANGAN, LossReportInput, _loss_report),
}
_KNOWN_STATUSES = frozenset(s.value for s in StatusPermohonan)


class PolriSettings(BackendSettings):
    """Polri calls back, so where to (the hub's public URL) and the shared secret the
    callbacks are signed with are required, not optional as for other agencies."""

    callback_base_url: HttpUrl
    callback_secret: NonBlankSecret


class PolriAdapter(HttpAdapter):
    agency: ClassVar[str] = AGENCY
    label: ClassVar[str] = "Polri"
    operations: ClassVar[frozenset[str]] = frozenset(_OPERATIONS)
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CALLBACK})
    settings_model: ClassVar[type[BackendSettings]] = PolriSettings

    settings: PolriSettings

    # -- canonical -> native

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        application = _OPERATIONS[command.operation]
        data = self.parse_input(application.input, command)
        common = {
            "nik": command.applicant.nik,
            "nama_lengkap": command.applicant.name,
            "callback_url": callback_url(str(self.settings.callback_base_url), AGENCY, step_id),
        }
        with self.native_request():
            body = application.native(data, common).model_dump(mode="json", exclude_none=True)
        response = await self.send("POST", application.path, json=body, headers={HEADER_REQUEST_ID: str(step_id)})
        if response.status_code != 202:
            raise self.transient_error(response) or _error_for(response)
        receipt = _receipt(response, application.layanan)
        log.info(
            "polri accepted %s for %s as %s (step %s)",
            application.layanan,
            mask_nik(command.applicant.nik),
            receipt.nomor_registrasi,
            step_id,
        )
        return StepStatusReport(status=Status.ACCEPTED, agency_status=receipt.status, agency_ref=receipt.nomor_registrasi)

    # -- native callback -> canonical

    def translate_callback(self, callback: AgencyCallback, step_id: uuid.UUID) -> StepStatusReport:
        try:
            raw = json.loads(callback.body)
        except ValueError:
            raise AgencyAnswerInvalid("agency_callback_invalid", "Polri callback body is not JSON") from None
        if not isinstance(raw, dict):
            raise AgencyAnswerInvalid("agency_callback_invalid", "Polri callback body is not a JSON object")
        status = raw.get("status")
        if not isinstance(status, str) or status not in _KNOWN_STATUSES:
            shown = str(status)[:50]
            raise AgencyAnswerInvalid("agency_status_unknown", f"Polri callback has unknown status {shown!r}", agency_code=shown)
        try:
            notice = PemberitahuanStatus.model_validate(raw)
        except ValidationError as exc:
            raise AgencyAnswerInvalid("agency_callback_invalid", f"Polri callback does not match its schema: {describe(exc)}") from None
        if notice.id_permintaan != str(step_id):
            raise AgencyAnswerInvalid(
                "agency_callback_mismatch", f"Polri callback is about request {notice.id_permintaan[:64]!r}, not this step"
            )
        outputs: dict[str, Any] = {}
        error: StepError | None = None
        if notice.status is StatusPermohonan.TERBIT:
            outputs = _outputs(notice)
        elif notice.status is StatusPermohonan.DITOLAK:
            assert notice.penolakan is not None  # the native model guarantees it
            code = _REASONS.get(notice.penolakan.kode_alasan, "agency_rejected")
            error = StepError(code=code, message=notice.penolakan.alasan, agency_code=notice.penolakan.kode_alasan)
        return StepStatusReport(
            status=_STATUS[notice.status],
            outputs=outputs,
            error=error,
            agency_status=notice.status.value,
            agency_ref=notice.nomor_registrasi,
        )


def _receipt(response: httpx.Response, layanan: Layanan) -> TandaTerima:
    try:
        raw = response.json()
    except ValueError:
        raise AgencyAnswerInvalid("agency_answer_invalid", "Polri HTTP 202 with a body that is not JSON") from None
    if isinstance(raw, dict) and raw.get("status") not in (None, StatusPermohonan.DITERIMA.value):
        shown = str(raw.get("status"))[:50]
        raise AgencyAnswerInvalid("agency_status_unknown", f"Polri receipt has unexpected status {shown!r}", agency_code=shown)
    try:
        receipt = TandaTerima.model_validate(raw)
    except ValidationError as exc:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Polri receipt does not match its schema: {describe(exc)}") from None
    if receipt.layanan is not layanan:
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Polri receipt is for {receipt.layanan}, not {layanan}")
    return receipt


def _outputs(notice: PemberitahuanStatus) -> dict[str, Any]:
    """The issued document as canonical outputs, checked against the output model."""
    try:
        if notice.laporan_kehilangan is not None:
            report = notice.laporan_kehilangan
            output: BaseModel = LossReportOutput(
                report_number=report.nomor_laporan,
                reported_on=report.tanggal_lapor,
                items=[_LOST_ITEM_KIND[jenis] for jenis in report.barang],
                fee=report.biaya_pnbp,
                registration_number=notice.nomor_registrasi,
            )
        elif notice.cek_fisik is not None:
            check = notice.cek_fisik
            output = VehicleCheckOutput(
                plate=check.nopol,
                physical_check=PhysicalCheck(chassis_number=check.nomor_rangka, engine_number=check.nomor_mesin),
                clearance_number=check.nomor_surat_keterangan,
                checked_on=check.tanggal_periksa,
                stolen_or_blocked=False,  # Polri issues the clearance only for a clean vehicle (status_ranmor BERSIH)
                registration_number=notice.nomor_registrasi,
            )
        elif notice.sim is not None:
            output = SimRenewalOutput(
                sim_number=notice.sim.nomor_sim,
                licence_class=_LICENCE_CLASS[notice.sim.golongan_sim],
                issued_on=notice.sim.tanggal_terbit,
                valid_until=notice.sim.berlaku_sampai,
                fee=notice.sim.biaya_pnbp,
                registration_number=notice.nomor_registrasi,
            )
        else:
            assert notice.skck is not None  # the native model guarantees one document on TERBIT
            output = SkckOutput(
                skck_number=notice.skck.nomor_skck,
                issued_on=notice.skck.tanggal_terbit,
                valid_until=notice.skck.berlaku_sampai,
                fee=notice.skck.biaya_pnbp,
                registration_number=notice.nomor_registrasi,
            )
    except ValidationError as exc:
        raise AgencyAnswerInvalid(
            "agency_answer_invalid", f"Polri document does not fit {notice.layanan} outputs: {describe(exc)}"
        ) from None
    return output.model_dump(mode="json")


def _error_for(response: httpx.Response) -> Exception:
    """A non-transient error answer: the daily quota (a refusal), or Polri refusing our request."""
    try:
        error = GalatPolri.model_validate_json(response.content)
    except ValidationError:
        return AgencyAnswerInvalid("agency_answer_invalid", f"Polri HTTP {response.status_code} with an unreadable body")
    if error.kode is KodeGalat.KUOTA_HARIAN_HABIS:
        return AgencyRejection("agency_quota_exhausted", error.pesan, agency_code=error.kode.value)
    if error.kode is KodeGalat.REQUEST_ID_BENTROK:
        return AgencyAnswerInvalid("agency_idempotency_conflict", error.pesan, agency_code=error.kode.value)
    return AgencyAnswerInvalid("agency_refused_request", f"Polri HTTP {response.status_code}: {error.pesan}", agency_code=error.kode.value)
