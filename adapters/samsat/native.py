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

Fee facts (sources by key in docs/domain-sources.md, "Samsat"):

* SWDKLLJ (Jasa Raharja accident-fund contribution): Rp143,000 for a private car,
  Rp35,000 for a 50-250 cc motorcycle.
* STNK annual endorsement ("pengesahan STNK") fee, PP 60/2016: Rp50,000 for a
  4-wheel vehicle, Rp25,000 for a 2/3-wheel vehicle.
* PKB (the provincial vehicle tax) is a percentage of the vehicle's value; since
  5 Jan 2025 the regency or city adds its opsen PKB, 66% of the PKB (UU 1/2022, HKPD).
  The simulator derives one deterministic stand-in amount from the plate and does not
  itemise the opsen.
* 5-year STNK renewal ("perpanjangan STNK 5-tahunan", PP 60/2016): new STNK
  Rp100,000 (2/3-wheel) / Rp200,000 (4-wheel) and new plates (TNKB) Rp60,000 /
  Rp100,000, plus that year's PKB and SWDKLLJ [V:PP60-DETIK][S:PP60-TEMPO].
* Ownership transfer ("balik nama", BBN-KB): BPKB Rp225,000 / Rp375,000, STNK
  Rp100,000 / Rp200,000, TNKB Rp60,000 / Rp100,000, plus PKB (regional)
  [S:BBN-KOMPAS][S:BBN-BALI][S:BBN-DETIK]; the new BPKB is printed by Polda's
  Regident and takes days to weeks, so the reply carries an estimate, not the book.
  No BBNKB: since 5 January 2025 it is levied only on a vehicle's first transfer
  (UU 1/2022 art. 12(1), PP 35/2023), so a used vehicle's transfer shows it as 0.
* Replacement of a lost or damaged STNK (Perpol 7/2021 art. 60): a new STNK,
  Rp100,000 (2/3-wheel) / Rp200,000 (4-wheel), PP 76/2020; a lost one needs the
  police loss report [S:STNK-HILANG-DETIK][S:STNK-HILANG-JABAR].
* Mutation out (mutasi keluar, cabut berkas): the mutation letter, Rp150,000
  (2/3-wheel) / Rp250,000 (4-wheel), PP 60/2016 [S:PP60-INIGRESIK][S:MUTASI-PR].
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

#: Payment code (kode bayar) of the province's regional-tax system: 15 digits [I].
#: PKB is a regional tax paid through the province's own channels; this is not a
#: SIMPONI (central non-tax revenue) billing code.
POLA_KODE_BAYAR: Final[str] = r"^[0-9]{15}$"

#: BPKB (ownership book) number: one letter + 8 digits, e.g. ``P12345678`` [I].
POLA_BPKB: Final[str] = r"^[A-Z][0-9]{8}$"

#: Chassis number (nomor rangka) = the 17-character VIN (ISO 3779: no I, O or Q).
POLA_NOMOR_RANGKA: Final[str] = r"^[A-HJ-NPR-Z0-9]{17}$"

#: Engine number (nomor mesin): manufacturer-specific, 6-20 letters/digits [I].
POLA_NOMOR_MESIN: Final[str] = r"^[A-Z0-9]{6,20}$"

#: Validity printed on the second line of a plate (TNKB): ``MM.YY``.
POLA_MASA_BERLAKU_TNKB: Final[str] = r"^(0[1-9]|1[0-2])\.[0-9]{2}$"

#: STNK serial number as Samsat prints it: 8 digits [I].
POLA_NO_STNK: Final[str] = r"^[0-9]{8}$"

#: The native path of the annual PKB payment + STNK endorsement operation.
PATH_PENGESAHAN: Final[str] = "/api/v1/pkb/pengesahan"

#: The native path of the 5-year STNK renewal + new plates (TNKB).
PATH_PERPANJANGAN_LIMA_TAHUNAN: Final[str] = "/api/v1/stnk/perpanjangan-lima-tahunan"

#: The native path of the ownership transfer of a used vehicle (BBN-KB).
PATH_BALIK_NAMA: Final[str] = "/api/v1/bbnkb/balik-nama"

#: The native path of the replacement of a lost or damaged STNK.
PATH_PENGGANTIAN_STNK: Final[str] = "/api/v1/stnk/penggantian"

#: The native path of a mutation out to another province (cabut berkas).
PATH_MUTASI_KELUAR: Final[str] = "/api/v1/mutasi/keluar"

#: The native path of a mutation in from another province (registration here).
PATH_MUTASI_MASUK: Final[str] = "/api/v1/mutasi/masuk"

#: Kemendagri province code: two digits.
POLA_KODE_PROVINSI: Final[str] = r"^[0-9]{2}$"

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
    BPKB_TIDAK_SESUAI = "BPKB_TIDAK_SESUAI"  # 409: BPKB number is not the plate's in the register
    CEK_FISIK_TIDAK_SESUAI = "CEK_FISIK_TIDAK_SESUAI"  # 409: chassis/engine number differ from the register
    PEMILIK_BARU_SAMA = "PEMILIK_BARU_SAMA"  # 409: transfer to the registered owner themself
    KWITANSI_TANPA_METERAI = "KWITANSI_TANPA_METERAI"  # 422: sale receipt without the Rp10,000 stamp duty
    LAPORAN_KEHILANGAN_WAJIB = "LAPORAN_KEHILANGAN_WAJIB"  # 422: lost STNK without the police loss report
    MUTASI_DALAM_PROVINSI = "MUTASI_DALAM_PROVINSI"  # 409: mutation to or from this Samsat's own province
    SURAT_MUTASI_TIDAK_VALID = "SURAT_MUTASI_TIDAK_VALID"  # 409: the origin's mutation letter is not known
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

#: New STNK (registration certificate) fee per vehicle class, rupiah (PP 60/2016).
BIAYA_STNK: Final[dict[JenisKendaraan, int]] = {
    JenisKendaraan.MOBIL: 200_000,
    JenisKendaraan.MOTOR: 100_000,
}

#: New plates (TNKB) fee per vehicle class, rupiah (PP 60/2016).
BIAYA_TNKB: Final[dict[JenisKendaraan, int]] = {
    JenisKendaraan.MOBIL: 100_000,
    JenisKendaraan.MOTOR: 60_000,
}

#: New BPKB (ownership book) fee per vehicle class, rupiah (PP 60/2016).
BIAYA_BPKB: Final[dict[JenisKendaraan, int]] = {
    JenisKendaraan.MOBIL: 375_000,
    JenisKendaraan.MOTOR: 225_000,
}

#: Mutation letter fee per vehicle class, rupiah (PP 60/2016).
BIAYA_MUTASI: Final[dict[JenisKendaraan, int]] = {
    JenisKendaraan.MOBIL: 250_000,
    JenisKendaraan.MOTOR: 150_000,
}


class _Native(BaseModel):
    # Samsat validates strictly: an unknown field is refused, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PermohonanPengesahan(_Native):
    """Request body of ``POST /api/v1/pkb/pengesahan``.

    Unknown fields are refused (422 ``DATA_TIDAK_VALID``) because Samsat's backend
    is strict; a silently ignored field would hide an adapter mapping bug.
    """

    nopol: str = Field(pattern=POLA_NOPOL, description="Plate, e.g. 'BA 1234 LZ'.")
    nik_pemilik: str = Field(pattern=POLA_NIK, description="Registered owner's NIK.")
    jenis_kendaraan: JenisKendaraan


class RincianBiaya(_Native):
    """Breakdown of what the citizen pays, in whole rupiah."""

    pkb: int = Field(ge=0, description="Provincial vehicle tax (PKB).")
    swdkllj: int = Field(ge=0, description="Jasa Raharja accident-fund contribution.")
    biaya_pengesahan: int = Field(ge=0, description="STNK endorsement fee (PP 60/2016).")


class HasilPengesahan(_Native):
    """Success (HTTP 200) reply: PKB paid and the STNK endorsed for another year."""

    status: Literal["BERHASIL"] = "BERHASIL"
    nopol: str = Field(pattern=POLA_NOPOL)
    kode_bayar: str = Field(pattern=POLA_KODE_BAYAR, description="Regional-tax payment code, 15 digits.")
    rincian: RincianBiaya
    total_bayar: int = Field(ge=0, description="pkb + swdkllj + biaya_pengesahan.")
    berlaku_sampai: date = Field(description="STNK valid until (serialised YYYY-MM-DD).")
    tanggal_pengesahan: date = Field(description="Endorsement date (YYYY-MM-DD).")
    no_transaksi: str = Field(min_length=1, description="Samsat's transaction number.")


class CekFisik(_Native):
    """Result of the physical check (cek fisik) done at the counter: the officer rubs
    the chassis and engine numbers off the vehicle and types them in."""

    nomor_rangka: str = Field(pattern=POLA_NOMOR_RANGKA, description="Chassis number (VIN), 17 characters.")
    nomor_mesin: str = Field(pattern=POLA_NOMOR_MESIN, description="Engine number.")


class _PermohonanKendaraan(_Native):
    """What every request about a registered vehicle carries: the owner, the original BPKB
    shown at the counter and the physical check."""

    nopol: str = Field(pattern=POLA_NOPOL, description="Plate, e.g. 'BA 1234 LZ'.")
    nik_pemilik: str = Field(pattern=POLA_NIK, description="Registered owner's NIK.")
    jenis_kendaraan: JenisKendaraan
    no_bpkb: str = Field(pattern=POLA_BPKB, description="Number of the original BPKB shown at the counter.")
    cek_fisik: CekFisik


class PermohonanPerpanjanganLimaTahunan(_PermohonanKendaraan):
    """Request body of ``POST /api/v1/stnk/perpanjangan-lima-tahunan`` (strict, like all of Samsat)."""


class RincianPerpanjangan(_Native):
    """Breakdown of the 5-year renewal, whole rupiah."""

    pkb: int = Field(ge=0, description="This year's PKB.")
    swdkllj: int = Field(ge=0, description="This year's Jasa Raharja contribution.")
    biaya_stnk: int = Field(ge=0, description="New STNK (PP 60/2016).")
    biaya_tnkb: int = Field(ge=0, description="New plates (PP 60/2016).")


class HasilPerpanjanganLimaTahunan(_Native):
    """Success (HTTP 200) reply: new STNK for five years, new plates ordered."""

    status: Literal["BERHASIL"] = "BERHASIL"
    nopol: str = Field(pattern=POLA_NOPOL)
    kode_bayar: str = Field(pattern=POLA_KODE_BAYAR)
    rincian: RincianPerpanjangan
    total_bayar: int = Field(ge=0, description="Sum of the breakdown.")
    stnk_berlaku_sampai: date = Field(description="New STNK valid until (5 years).")
    masa_berlaku_tnkb: str = Field(pattern=POLA_MASA_BERLAKU_TNKB, description="Validity on the new plate, 'MM.YY'.")
    tanggal_penetapan: date = Field(description="Assessment date (YYYY-MM-DD).")
    no_transaksi: str = Field(min_length=1)


class Kwitansi(_Native):
    """The sale receipt (kwitansi jual beli) of a used vehicle."""

    nomor: str = Field(min_length=1, max_length=50, description="Receipt number.")
    bermeterai: bool = Field(description="Carries the Rp10,000 stamp duty (meterai); Samsat refuses it otherwise.")


class PermohonanBalikNama(_Native):
    """Request body of ``POST /api/v1/bbnkb/balik-nama``: transfer to the new owner."""

    nopol: str = Field(pattern=POLA_NOPOL)
    jenis_kendaraan: JenisKendaraan
    nik_pemilik_lama: str = Field(pattern=POLA_NIK, description="Seller: must be the registered owner.")
    nik_pemilik_baru: str = Field(pattern=POLA_NIK, description="Buyer: the new owner, who applies.")
    no_bpkb: str = Field(pattern=POLA_BPKB)
    kwitansi: Kwitansi
    cek_fisik: CekFisik


class RincianBalikNama(_Native):
    """Breakdown of an ownership transfer, whole rupiah."""

    bbnkb: int = Field(ge=0, description="BBNKB (provincial transfer tax): 0 for a used vehicle since 5 Jan 2025.")
    pkb: int = Field(ge=0)
    swdkllj: int = Field(ge=0)
    biaya_bpkb: int = Field(ge=0, description="New BPKB (PP 60/2016).")
    biaya_stnk: int = Field(ge=0)
    biaya_tnkb: int = Field(ge=0)


class StatusBpkb(StrEnum):
    """Where the new BPKB is; Polda's Regident prints it after the STNK."""

    DIPROSES_POLDA = "DIPROSES_POLDA"


class ProsesBpkb(_Native):
    status: StatusBpkb
    perkiraan_selesai: date = Field(description="Estimated date the BPKB can be collected.")
    keterangan: str = Field(min_length=1)


class HasilBalikNama(_Native):
    """Success (HTTP 200) reply: STNK issued in the new owner's name, BPKB in process."""

    status: Literal["BERHASIL"] = "BERHASIL"
    nopol: str = Field(pattern=POLA_NOPOL)
    kode_bayar: str = Field(pattern=POLA_KODE_BAYAR)
    rincian: RincianBalikNama
    total_bayar: int = Field(ge=0)
    no_stnk: str = Field(pattern=POLA_NO_STNK, description="Serial of the new STNK.")
    bpkb: ProsesBpkb
    tanggal_penetapan: date
    no_transaksi: str = Field(min_length=1)


class AlasanPenggantian(StrEnum):
    HILANG = "HILANG"  # lost: the police loss report is required
    RUSAK = "RUSAK"  # damaged: the damaged STNK is handed in


class _HasilSatuBiaya(_Native):
    """A success reply whose bill has one item (``total_bayar`` is that item)."""

    status: Literal["BERHASIL"] = "BERHASIL"
    nopol: str = Field(pattern=POLA_NOPOL)
    kode_bayar: str = Field(pattern=POLA_KODE_BAYAR)
    total_bayar: int = Field(ge=0)
    tanggal_penetapan: date
    no_transaksi: str = Field(min_length=1)


class PermohonanPenggantianStnk(_PermohonanKendaraan):
    """Request body of ``POST /api/v1/stnk/penggantian``: a lost or damaged STNK."""

    alasan: AlasanPenggantian
    no_laporan_polisi: str | None = Field(
        default=None, min_length=8, max_length=120, description="Police loss report number; required when HILANG."
    )


class HasilPenggantianStnk(_HasilSatuBiaya):
    """Success (HTTP 200) reply: a replacement STNK, valid as the one it replaces."""

    biaya_stnk: int = Field(ge=0, description="New STNK (PP 76/2020).")
    no_stnk: str = Field(pattern=POLA_NO_STNK, description="Serial of the replacement STNK.")
    stnk_berlaku_sampai: date


class PermohonanMutasiKeluar(_PermohonanKendaraan):
    """Request body of ``POST /api/v1/mutasi/keluar``: release the vehicle's file to another province."""

    kode_provinsi_tujuan: str = Field(pattern=POLA_KODE_PROVINSI, description="Destination province (Kemendagri code).")


class HasilMutasiKeluar(_HasilSatuBiaya):
    """Success (HTTP 200) reply: the mutation letter; the file is released a few days later."""

    biaya_mutasi: int = Field(ge=0, description="Mutation letter (PP 60/2016).")
    no_surat_mutasi: str = Field(min_length=1)
    kode_provinsi_tujuan: str = Field(pattern=POLA_KODE_PROVINSI)
    berkas_siap: date = Field(description="When the released file can be collected.")


class PermohonanMutasiMasuk(_PermohonanKendaraan):
    """Request body of ``POST /api/v1/mutasi/masuk``: ``nopol`` is the old plate."""

    kode_provinsi_asal: str = Field(pattern=POLA_KODE_PROVINSI, description="Province that released the file.")
    no_surat_mutasi: str = Field(min_length=5, max_length=60)


class RincianMutasiMasuk(_Native):
    pkb: int = Field(ge=0)
    swdkllj: int = Field(ge=0)
    biaya_stnk: int = Field(ge=0)
    biaya_tnkb: int = Field(ge=0)
    biaya_bpkb: int = Field(ge=0)


class HasilMutasiMasuk(_Native):
    """Success (HTTP 200) reply: registered here with new plates."""

    status: Literal["BERHASIL"] = "BERHASIL"
    nopol: str = Field(pattern=POLA_NOPOL, description="The old plate, as asked.")
    nopol_baru: str = Field(pattern=POLA_NOPOL)
    kode_bayar: str = Field(pattern=POLA_KODE_BAYAR)
    rincian: RincianMutasiMasuk
    total_bayar: int = Field(ge=0)
    no_stnk: str = Field(pattern=POLA_NO_STNK)
    tanggal_penetapan: date
    no_transaksi: str = Field(min_length=1)


class GalatSamsat(_Native):
    """Every error reply from Samsat has this shape, whatever the HTTP status."""

    status: Literal["GAGAL"] = "GAGAL"
    kode_error: KodeError
    pesan: str = Field(description="Human-readable message, in Indonesian.")
    kesalahan: list[str] | None = Field(
        default=None,
        description="Field-level problems; only for 422 DATA_TIDAK_VALID.",
    )


__all__ = [
    "BIAYA_BPKB",
    "BIAYA_MUTASI",
    "BIAYA_PENGESAHAN",
    "BIAYA_STNK",
    "BIAYA_TNKB",
    "HEADER_IDEMPOTENCY_KEY",
    "HEADER_IDEMPOTENT_REPLAYED",
    "PATH_BALIK_NAMA",
    "PATH_MUTASI_KELUAR",
    "PATH_MUTASI_MASUK",
    "PATH_PENGESAHAN",
    "PATH_PENGGANTIAN_STNK",
    "PATH_PERPANJANGAN_LIMA_TAHUNAN",
    "POLA_BPKB",
    "POLA_KODE_BAYAR",
    "POLA_KODE_PROVINSI",
    "POLA_MASA_BERLAKU_TNKB",
    "POLA_NIK",
    "POLA_NOMOR_MESIN",
    "POLA_NOMOR_RANGKA",
    "POLA_NOPOL",
    "POLA_NO_STNK",
    "SWDKLLJ",
    "AlasanPenggantian",
    "CekFisik",
    "GalatSamsat",
    "HasilBalikNama",
    "HasilMutasiKeluar",
    "HasilMutasiMasuk",
    "HasilPengesahan",
    "HasilPenggantianStnk",
    "HasilPerpanjanganLimaTahunan",
    "JenisKendaraan",
    "KodeError",
    "Kwitansi",
    "PermohonanBalikNama",
    "PermohonanMutasiKeluar",
    "PermohonanMutasiMasuk",
    "PermohonanPengesahan",
    "PermohonanPenggantianStnk",
    "PermohonanPerpanjanganLimaTahunan",
    "ProsesBpkb",
    "RincianBalikNama",
    "RincianBiaya",
    "RincianMutasiMasuk",
    "RincianPerpanjangan",
    "StatusBpkb",
]
