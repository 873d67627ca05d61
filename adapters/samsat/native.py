"""Samsat's own ("native") REST/JSON messages, as its backend speaks them.

Samsat (Kantor Bersama Samsat) is the joint office of Polri (vehicle registration),
Bapenda (provincial vehicle tax) and Jasa Raharja (the SWDKLLJ accident fund). Its
backend is a foreign system to the hub: it uses Indonesian field names and its own
error shape, and it knows nothing about our canonical schema. These models describe
that wire format exactly so that

* the simulator (``adapters.samsat.simulator``) can validate and produce it, and
* the Samsat adapter can translate canonical messages to and from it.

On purpose this module imports nothing from ``hub`` or ``schemas``: it imitates a
system we do not control, so it must not be shaped by our own contract.

Fee facts (see /work/shared/domain.md section 5.2):

* SWDKLLJ (Jasa Raharja accident-fund contribution): Rp143,000 for a private car,
  Rp35,000 for a 50-250 cc motorcycle.
* STNK annual endorsement ("pengesahan STNK") fee, PP 60/2016: Rp50,000 for a
  4-wheel vehicle, Rp25,000 for a 2/3-wheel vehicle.
* PKB (the provincial vehicle tax) is a percentage of the vehicle's value; the
  simulator derives a deterministic stand-in amount from the plate.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Plate as Samsat writes it: region code (1-2 letters), serial 1-9999 without a
#: leading zero, optional 1-3 letter series, single spaces, upper case
#: (e.g. ``BA 1234 LZ``). Samsat's backend does not normalise input; it rejects it.
POLA_NOPOL: Final[str] = r"^[A-Z]{1,2} [1-9][0-9]{0,3}( [A-Z]{1,3})?$"

#: NIK: exactly 16 digits (province, regency, district, birth date, serial).
POLA_NIK: Final[str] = r"^[0-9]{16}$"

#: Billing code: 15 digits starting with 8, as SIMPONI-style codes are.
POLA_KODE_BAYAR: Final[str] = r"^8[0-9]{14}$"

#: The native path of the annual PKB payment + STNK endorsement operation.
PATH_PENGESAHAN: Final[str] = "/api/v1/pkb/pengesahan"

#: Header that carries the caller's idempotency key (the hub passes its step id).
HEADER_IDEMPOTENCY_KEY: Final[str] = "Idempotency-Key"

#: Header set to ``true`` when a stored response is replayed for a repeated key.
HEADER_IDEMPOTENT_REPLAYED: Final[str] = "Idempotent-Replayed"


class JenisKendaraan(StrEnum):
    """Vehicle class; it decides which fixed fees apply."""

    MOBIL = "MOBIL"  # private car (4-wheel)
    MOTOR = "MOTOR"  # motorcycle (2-wheel, 50-250 cc)


class KodeError(StrEnum):
    """Samsat's error codes (``kode_error``), with the HTTP status each comes with.

    The adapter maps these to canonical outcomes, so they are a closed set.
    """

    IDEMPOTENCY_KEY_WAJIB = "IDEMPOTENCY_KEY_WAJIB"  # 400: header missing or blank
    IDEMPOTENCY_KEY_TIDAK_VALID = "IDEMPOTENCY_KEY_TIDAK_VALID"  # 400: too long / bad chars
    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 422: malformed native input
    NOPOL_TIDAK_TERDAFTAR = "NOPOL_TIDAK_TERDAFTAR"  # 404: plate not registered
    NIK_TIDAK_SESUAI = "NIK_TIDAK_SESUAI"  # 409: NIK is not the registered owner
    KUNCI_SUDAH_DIPAKAI = "KUNCI_SUDAH_DIPAKAI"  # 409: key reused with another body
    KUOTA_HABIS = "KUOTA_HABIS"  # 429: daily quota of applications reached
    SISTEM_SIBUK = "SISTEM_SIBUK"  # 503: transient overload, retry (Retry-After)
    SISTEM_TIDAK_TERSEDIA = "SISTEM_TIDAK_TERSEDIA"  # 503: backend down / maintenance
    WAKTU_HABIS = "WAKTU_HABIS"  # 504: reply lost after the operation was applied
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404: unknown path
    METODE_TIDAK_DIIZINKAN = "METODE_TIDAK_DIIZINKAN"  # 405: wrong HTTP method
    GALAT_INTERNAL = "GALAT_INTERNAL"  # other HTTP errors


#: SWDKLLJ (Jasa Raharja) per vehicle class, rupiah.
SWDKLLJ: Final[dict[JenisKendaraan, int]] = {
    JenisKendaraan.MOBIL: 143_000,
    JenisKendaraan.MOTOR: 35_000,
}

#: STNK annual endorsement fee per vehicle class, rupiah (PP 60/2016).
BIAYA_PENGESAHAN: Final[dict[JenisKendaraan, int]] = {
    JenisKendaraan.MOBIL: 50_000,
    JenisKendaraan.MOTOR: 25_000,
}


class PermohonanPengesahan(BaseModel):
    """Request body of ``POST /api/v1/pkb/pengesahan``.

    Unknown fields are refused (422 ``DATA_TIDAK_VALID``) because Samsat's backend
    is strict; a silently ignored field would hide an adapter mapping bug.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    nopol: str = Field(pattern=POLA_NOPOL, description="Plate, e.g. 'BA 1234 LZ'.")
    nik_pemilik: str = Field(pattern=POLA_NIK, description="Registered owner's NIK.")
    jenis_kendaraan: JenisKendaraan


class RincianBiaya(BaseModel):
    """Breakdown of what the citizen pays, in whole rupiah."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pkb: int = Field(ge=0, description="Provincial vehicle tax (PKB).")
    swdkllj: int = Field(ge=0, description="Jasa Raharja accident-fund contribution.")
    biaya_pengesahan: int = Field(ge=0, description="STNK endorsement fee (PP 60/2016).")


class HasilPengesahan(BaseModel):
    """Success (HTTP 200) reply: PKB paid and the STNK endorsed for another year."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["BERHASIL"] = "BERHASIL"
    nopol: str = Field(pattern=POLA_NOPOL)
    kode_bayar: str = Field(pattern=POLA_KODE_BAYAR, description="15 digits, starts with 8.")
    rincian: RincianBiaya
    total_bayar: int = Field(ge=0, description="pkb + swdkllj + biaya_pengesahan.")
    berlaku_sampai: date = Field(description="STNK valid until (serialised YYYY-MM-DD).")
    tanggal_pengesahan: date = Field(description="Endorsement date (YYYY-MM-DD).")
    no_transaksi: str = Field(min_length=1, description="Samsat's transaction number.")


class GalatSamsat(BaseModel):
    """Every error reply from Samsat has this shape, whatever the HTTP status."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["GAGAL"] = "GAGAL"
    kode_error: KodeError
    pesan: str = Field(description="Human-readable message, in Indonesian.")
    kesalahan: list[str] | None = Field(
        default=None,
        description="Field-level problems; only for 422 DATA_TIDAK_VALID.",
    )


__all__ = [
    "BIAYA_PENGESAHAN",
    "GalatSamsat",
    "HEADER_IDEMPOTENCY_KEY",
    "HEADER_IDEMPOTENT_REPLAYED",
    "HasilPengesahan",
    "JenisKendaraan",
    "KodeError",
    "PATH_PENGESAHAN",
    "POLA_KODE_BAYAR",
    "POLA_NIK",
    "POLA_NOPOL",
    "PermohonanPengesahan",
    "RincianBiaya",
    "SWDKLLJ",
]
