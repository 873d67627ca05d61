"""Samsat adapter: canonical <-> Samsat's synchronous REST/JSON.

Samsat answers in the same HTTP call, so one step command is one native call. Its
Indonesian error codes map onto canonical outcomes here and nowhere else.

Status mapping (Samsat has two native statuses, ``status`` in every body):

* HTTP 200 ``BERHASIL`` -> COMPLETED with the operation's canonical outputs. For an
  ownership transfer this means the STNK is issued in the new owner's name; the new
  BPKB is still being printed at Polda, which the outputs say (``bpkb_note``,
  ``bpkb_ready_estimate``) -- the step does not wait weeks for it.
* ``GAGAL`` with a refusal on the merits (``_REJECTIONS``) -> REJECTED with the
  canonical code and Samsat's message.
* ``GAGAL`` 503 ``SISTEM_SIBUK`` / ``SISTEM_TIDAK_TERSEDIA``, 504 ``WAKTU_HABIS``, any
  408/425/5xx, timeouts and connection errors -> ``TransientBackendError`` (the worker
  retries with the same idempotency key; Samsat replays what it already applied).
* Any other ``GAGAL`` code (a reused key, malformed input, an unknown path) ->
  FAILED ``agency_refused_request`` with Samsat's code: a hub bug, not the citizen's.
* Anything else -- an unreadable or schema-invalid body, an unknown ``status`` or
  ``kode_error``, totals that do not add up, another plate than asked -- -> FAILED
  ``agency_answer_invalid``; never a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from adapters.samsat.native import (
    HEADER_IDEMPOTENCY_KEY,
    PATH_BALIK_NAMA,
    PATH_MUTASI_KELUAR,
    PATH_MUTASI_MASUK,
    PATH_PENGESAHAN,
    PATH_PENGGANTIAN_STNK,
    PATH_PERPANJANGAN_LIMA_TAHUNAN,
    AlasanPenggantian,
    CekFisik,
    GalatSamsat,
    HasilBalikNama,
    HasilMutasiKeluar,
    HasilMutasiMasuk,
    HasilPengesahan,
    HasilPenggantianStnk,
    HasilPerpanjanganLimaTahunan,
    JenisKendaraan,
    KodeError,
    Kwitansi,
    PermohonanBalikNama,
    PermohonanMutasiKeluar,
    PermohonanMutasiMasuk,
    PermohonanPengesahan,
    PermohonanPenggantianStnk,
    PermohonanPerpanjanganLimaTahunan,
)
from adapters.sdk import AgencyAnswerInvalid, AgencyRejection
from adapters.sdk.http import HttpAdapter
from schemas.messages import StepCommand, StepStatusReport
from schemas.services.samsat import (
    MutationInBreakdown,
    MutationInInput,
    MutationInOutput,
    MutationOutInput,
    MutationOutOutput,
    OwnershipTransferBreakdown,
    OwnershipTransferInput,
    OwnershipTransferOutput,
    PhysicalCheck,
    PkbAnnualInput,
    PkbAnnualOutput,
    PkbBreakdown,
    Stnk5YearBreakdown,
    Stnk5YearInput,
    Stnk5YearOutput,
    StnkLossReason,
    StnkReplacementInput,
    StnkReplacementOutput,
    VehiclePapers,
    VehicleType,
)
from schemas.validation import describe, field_problems

_VEHICLE = {VehicleType.CAR: JenisKendaraan.MOBIL, VehicleType.MOTORCYCLE: JenisKendaraan.MOTOR}

# Samsat's refusals on the merits, with the canonical code the portal sees.
_REJECTIONS: dict[KodeError, str] = {
    KodeError.NOPOL_TIDAK_TERDAFTAR: "plate_not_registered",
    KodeError.NIK_TIDAK_SESUAI: "owner_mismatch",
    KodeError.BPKB_TIDAK_SESUAI: "bpkb_mismatch",
    KodeError.CEK_FISIK_TIDAK_SESUAI: "physical_check_mismatch",
    KodeError.PEMILIK_BARU_SAMA: "new_owner_is_registered_owner",
    KodeError.KWITANSI_TANPA_METERAI: "sale_receipt_unstamped",
    KodeError.LAPORAN_KEHILANGAN_WAJIB: "police_report_required",
    KodeError.MUTASI_DALAM_PROVINSI: "mutation_within_province",
    KodeError.SURAT_MUTASI_TIDAK_VALID: "mutation_letter_unknown",
    KodeError.KUOTA_HABIS: "agency_quota_exhausted",
}


@dataclass(frozen=True)
class _Operation:
    """How one canonical operation travels: input model, native path and request,
    native success model and its canonical output."""

    input: type[BaseModel]
    path: str
    to_native: Callable[[Any, StepCommand], BaseModel]
    reply: type[BaseModel]
    to_output: Callable[[Any], BaseModel]


def _cek_fisik(check: PhysicalCheck) -> CekFisik:
    return CekFisik(nomor_rangka=check.chassis_number, nomor_mesin=check.engine_number)


class _Bill(Protocol):
    @property
    def kode_bayar(self) -> str: ...
    @property
    def total_bayar(self) -> int: ...
    @property
    def no_transaksi(self) -> str: ...


def _bill(native: _Bill) -> dict[str, Any]:
    """What every Samsat answer bills: the payment code, the total and Samsat's transaction number."""
    return {"billing_code": native.kode_bayar, "amount": native.total_bayar, "agency_reference": native.no_transaksi}


def _pkb_native(data: PkbAnnualInput, command: StepCommand) -> PermohonanPengesahan:
    return PermohonanPengesahan(nopol=data.plate, nik_pemilik=command.applicant.nik, jenis_kendaraan=_VEHICLE[data.vehicle_type])


def _pkb_output(native: HasilPengesahan) -> PkbAnnualOutput:
    r = native.rincian
    _check_total(native.total_bayar, r.pkb, r.swdkllj, r.biaya_pengesahan)
    return PkbAnnualOutput(
        **_bill(native),
        breakdown=PkbBreakdown(pkb=r.pkb, swdkllj=r.swdkllj, endorsement_fee=r.biaya_pengesahan),
        stnk_valid_until=native.berlaku_sampai,
    )


def _stnk5_native(data: Stnk5YearInput, command: StepCommand) -> PermohonanPerpanjanganLimaTahunan:
    return PermohonanPerpanjanganLimaTahunan(**_papers(data, command))


def _stnk5_output(native: HasilPerpanjanganLimaTahunan) -> Stnk5YearOutput:
    r = native.rincian
    _check_total(native.total_bayar, r.pkb, r.swdkllj, r.biaya_stnk, r.biaya_tnkb)
    month, yy = native.masa_berlaku_tnkb.split(".")  # "MM.YY" as printed on the plate
    return Stnk5YearOutput(
        **_bill(native),
        breakdown=Stnk5YearBreakdown(pkb=r.pkb, swdkllj=r.swdkllj, stnk_fee=r.biaya_stnk, plate_fee=r.biaya_tnkb),
        stnk_valid_until=native.stnk_berlaku_sampai,
        plate_valid_until=f"20{yy}-{month}",
    )


def _transfer_native(data: OwnershipTransferInput, command: StepCommand) -> PermohonanBalikNama:
    # The applicant is the buyer: the new owner in whose name the STNK is issued.
    return PermohonanBalikNama(
        nopol=data.plate,
        jenis_kendaraan=_VEHICLE[data.vehicle_type],
        nik_pemilik_lama=data.previous_owner_nik,
        nik_pemilik_baru=command.applicant.nik,
        no_bpkb=data.bpkb_number,
        kwitansi=Kwitansi(nomor=data.sale_receipt_number, bermeterai=data.sale_receipt_stamped),
        cek_fisik=_cek_fisik(data.physical_check),
    )


def _transfer_output(native: HasilBalikNama) -> OwnershipTransferOutput:
    r = native.rincian
    _check_total(native.total_bayar, r.bbnkb, r.pkb, r.swdkllj, r.biaya_bpkb, r.biaya_stnk, r.biaya_tnkb)
    return OwnershipTransferOutput(
        **_bill(native),
        breakdown=OwnershipTransferBreakdown(
            bbnkb=r.bbnkb, pkb=r.pkb, swdkllj=r.swdkllj, bpkb_fee=r.biaya_bpkb, stnk_fee=r.biaya_stnk, plate_fee=r.biaya_tnkb
        ),
        stnk_number=native.no_stnk,
        bpkb_note=f"{native.bpkb.status.value}: {native.bpkb.keterangan}",
        bpkb_ready_estimate=native.bpkb.perkiraan_selesai,
    )


_ALASAN = {StnkLossReason.LOST: AlasanPenggantian.HILANG, StnkLossReason.DAMAGED: AlasanPenggantian.RUSAK}


def _papers(data: VehiclePapers, command: StepCommand) -> dict[str, Any]:
    """The fields of a request about a registered vehicle its owner presents."""
    return {
        "nopol": data.plate,
        "nik_pemilik": command.applicant.nik,
        "jenis_kendaraan": _VEHICLE[data.vehicle_type],
        "no_bpkb": data.bpkb_number,
        "cek_fisik": _cek_fisik(data.physical_check),
    }


def _replacement_native(data: StnkReplacementInput, command: StepCommand) -> PermohonanPenggantianStnk:
    return PermohonanPenggantianStnk(**_papers(data, command), alasan=_ALASAN[data.reason], no_laporan_polisi=data.police_report_number)


def _replacement_output(native: HasilPenggantianStnk) -> StnkReplacementOutput:
    _check_total(native.total_bayar, native.biaya_stnk)
    return StnkReplacementOutput(
        **_bill(native),
        stnk_number=native.no_stnk,
        stnk_valid_until=native.stnk_berlaku_sampai,
    )


def _mutation_native(data: MutationOutInput, command: StepCommand) -> PermohonanMutasiKeluar:
    return PermohonanMutasiKeluar(**_papers(data, command), kode_provinsi_tujuan=data.destination_province)


def _mutation_output(native: HasilMutasiKeluar) -> MutationOutOutput:
    _check_total(native.total_bayar, native.biaya_mutasi)
    return MutationOutOutput(
        **_bill(native),
        mutation_letter_number=native.no_surat_mutasi,
        destination_province=native.kode_provinsi_tujuan,
        file_ready_estimate=native.berkas_siap,
    )


def _mutation_in_native(data: MutationInInput, command: StepCommand) -> PermohonanMutasiMasuk:
    return PermohonanMutasiMasuk(
        **_papers(data, command), kode_provinsi_asal=data.origin_province, no_surat_mutasi=data.mutation_letter_number
    )


def _mutation_in_output(native: HasilMutasiMasuk) -> MutationInOutput:
    r = native.rincian
    _check_total(native.total_bayar, r.pkb, r.swdkllj, r.biaya_stnk, r.biaya_tnkb, r.biaya_bpkb)
    return MutationInOutput(
        **_bill(native),
        breakdown=MutationInBreakdown(pkb=r.pkb, swdkllj=r.swdkllj, stnk_fee=r.biaya_stnk, plate_fee=r.biaya_tnkb, bpkb_fee=r.biaya_bpkb),
        new_plate=native.nopol_baru,
        stnk_number=native.no_stnk,
    )


_OPERATIONS: dict[str, _Operation] = {
    "pkb_annual": _Operation(PkbAnnualInput, PATH_PENGESAHAN, _pkb_native, HasilPengesahan, _pkb_output),
    "stnk_5year": _Operation(Stnk5YearInput, PATH_PERPANJANGAN_LIMA_TAHUNAN, _stnk5_native, HasilPerpanjanganLimaTahunan, _stnk5_output),
    "ownership_transfer": _Operation(OwnershipTransferInput, PATH_BALIK_NAMA, _transfer_native, HasilBalikNama, _transfer_output),
    "stnk_replacement": _Operation(
        StnkReplacementInput, PATH_PENGGANTIAN_STNK, _replacement_native, HasilPenggantianStnk, _replacement_output
    ),
    "mutation_out": _Operation(MutationOutInput, PATH_MUTASI_KELUAR, _mutation_native, HasilMutasiKeluar, _mutation_output),
    "mutation_in": _Operation(MutationInInput, PATH_MUTASI_MASUK, _mutation_in_native, HasilMutasiMasuk, _mutation_in_output),
}


class SamsatAdapter(HttpAdapter):
    agency: ClassVar[str] = "samsat"
    label: ClassVar[str] = "Samsat"
    operations: ClassVar[frozenset[str]] = frozenset(_OPERATIONS)

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.check_operation(command)
        operation = _OPERATIONS[command.operation]
        data: Any = self.parse_input(operation.input, command)
        with self.native_request():
            native = operation.to_native(data, command)
        response = await self.send(
            "POST", operation.path, json=native.model_dump(mode="json"), headers={HEADER_IDEMPOTENCY_KEY: str(step_id)}
        )
        if response.status_code != 200:
            raise self.transient_error(response) or _error_for(response)
        try:
            reply: Any = operation.reply.model_validate_json(response.content)
        except ValidationError as exc:
            raise AgencyAnswerInvalid("agency_answer_invalid", _why_invalid(response, exc)) from None
        if reply.nopol != data.plate:
            raise AgencyAnswerInvalid("agency_answer_invalid", "Samsat answered about another plate than the one asked")
        with self.canonical_output():
            output = operation.to_output(reply)
        return self.completed(output, reply.status)


def _why_invalid(response: httpx.Response, exc: ValidationError) -> str:
    """An operator-readable reason; field locations only, never the values (they may be personal data)."""
    if any(p.type == "json_invalid" for p in field_problems(exc)):
        kind = response.headers.get("content-type", "no content type")
        return f"Samsat answered HTTP 200 with a body that is not JSON ({kind})"
    return f"Samsat success answer does not match its schema: {describe(exc, root='body')}"


def _check_total(total: int, *parts: int) -> None:
    """A success whose total is not the sum of its breakdown would bill the citizen wrongly."""
    if total != sum(parts):
        raise AgencyAnswerInvalid("agency_answer_invalid", f"Samsat total {total} is not the sum of its breakdown ({sum(parts)})")


def _error_for(response: httpx.Response) -> Exception:
    """A non-transient error answer: a refusal on the merits, or Samsat refusing our request."""
    try:
        error = GalatSamsat.model_validate_json(response.content)
    except ValidationError:
        return AgencyAnswerInvalid("agency_answer_invalid", f"Samsat HTTP {response.status_code} with an unreadable body")
    if error.kode_error in _REJECTIONS:
        return AgencyRejection(_REJECTIONS[error.kode_error], error.pesan, agency_code=error.kode_error.value)
    return AgencyAnswerInvalid("agency_refused_request", error.pesan, agency_code=error.kode_error.value)
