"""BPJPH's own ("native") messages: SIHALAL's partner REST/JSON API, progress polled.

BPJPH (Badan Penyelenggara Jaminan Produk Halal) runs halal certification in
SIHALAL. It was part of Kemenag until 29 Jul 2025, when it became a non-ministerial
agency reporting to the President [S:BPJPH-SPLIT]. Its backend is a foreign system to
the hub: Indonesian field names, its own status words, a response wrapper
(``{"sukses": ..., "data" | "galat": ...}``) and an API key per partner system.
Certification takes days to weeks, so a submission is acknowledged at once with a
``nomor_daftar`` (registration number) and its progress must be *polled*.

This module is the wire format only. It imports nothing from ``hub`` or ``schemas``:
both the simulator (``adapters.bpjph.simulator``) and the adapter
(``adapters.bpjph.adapter``) build on it.

Protocol
========

Every request carries ``X-Api-Key`` (the partner key BPJPH issued to the MPP hub).

``POST /api/sihalal/v1/pengajuan`` -- submit an application
    header ``Idempotency-Key`` (the caller's key; the hub sends its step id): the same
    key with the same body is answered with the stored receipt (header
    ``Idempotent-Replayed: true``), with another body ``409 KUNCI_BENTROK``;
    body :class:`PengajuanSertifikasi`; answer ``201`` ``{"sukses": true, "data":``
    :class:`TandaTerimaPengajuan` ``}``.
``GET /api/sihalal/v1/pengajuan/{nomor_daftar}`` -- where is the application now?
    answer ``200`` ``{"sukses": true, "data":`` :class:`StatusPengajuanHalal` ``}``.

Every error: ``{"sukses": false, "galat":`` :class:`Galat` ``}`` with the HTTP status
of its :class:`KodeGalat`.

Statuses (``status``) -- the two routes of UU 33/2014 as amended by UU 6/2023:

* self-declare (micro and small businesses, simple low-risk products, Rp0):
  ``DIAJUKAN`` -> ``VERIFIKASI`` (documents checked) -> ``PENDAMPINGAN_PPH`` (the
  halal process assistant, Pendamping Proses Produk Halal, verifies on site) ->
  ``SIDANG_FATWA`` (the halal fatwa committee) -> ``TERBIT`` (certificate issued);
* regular: ``DIAJUKAN`` -> ``VERIFIKASI`` -> ``MENUNGGU_PEMBAYARAN`` (fee set, billing
  code issued) -> ``PEMERIKSAAN_LPH`` (audit by a halal inspection body, Lembaga
  Pemeriksa Halal) -> ``SIDANG_FATWA`` (MUI fatwa session) -> ``TERBIT``;
* or it ends early: ``DIKEMBALIKAN`` (documents returned at verification: what to fix
  is in ``catatan_perbaikan``; the application waits, a corrected one is a new
  submission), ``DITOLAK`` (refused, ``penolakan`` says why), ``KEDALUWARSA`` (the
  regular fee was not paid in time).

Facts (sources by key in docs/domain-sources.md, "Halal"): the business is identified by
its NIB (13-digit OSS id) [I]; self-declare Rp0 for micro and small businesses,
regular Rp300,000 - Rp5,000,000 per certificate [S:HALAL-TARIF][S:HALAL-SD]. The
taxpayer-status check (KSWP, DJP) comes first in the food-business flow (F3 there).
Identifier shapes (``SH<year>-<1|2>-<serial>`` registration numbers, ``ID`` + 17
digits certificate numbers) follow what SIHALAL prints, simplified [I].
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PATH_PENGAJUAN: Final[str] = "/api/sihalal/v1/pengajuan"
#: Status of one application: ``PATH_PENGAJUAN + "/" + nomor_daftar``.
PATH_STATUS: Final[str] = PATH_PENGAJUAN + "/{nomor_daftar}"

HEADER_API_KEY: Final[str] = "X-Api-Key"
HEADER_IDEMPOTENCY_KEY: Final[str] = "Idempotency-Key"
HEADER_REPLAYED: Final[str] = "Idempotent-Replayed"

POLA_NIK: Final[str] = r"^[0-9]{16}$"
#: NIB (Nomor Induk Berusaha, OSS business id): 13 digits [I].
POLA_NIB: Final[str] = r"^[0-9]{13}$"
#: NPWP as digits: 16 (NIK or 0 + legacy 15) -- SIHALAL no longer takes the 15-digit form.
POLA_NPWP: Final[str] = r"^[0-9]{16}$"
#: Registration number: ``SH<year>-<1 self-declare | 2 regular>-<serial>`` [I].
POLA_NOMOR_DAFTAR: Final[str] = r"^SH[0-9]{4}-[12]-[0-9]{6}$"
#: Halal certificate number: ``ID`` + 17 digits [I]; also how a certified ingredient is cited.
POLA_NOMOR_SERTIFIKAT: Final[str] = r"^ID[0-9]{17}$"
#: Billing code of the regular fee: 15 digits starting with 7, 8 or 9 (SIMPONI) [V:SIMPONI].
POLA_KODE_BILLING: Final[str] = r"^[789][0-9]{14}$"

#: Days a billing code can be paid [V:SIMPONI].
HARI_BAYAR: Final[int] = 7
#: Working days from submission to the certificate, per route [I] (BPJPH advertises
#: about 12 working days for self-declare; the catalogue says 21 for regular).
HARI_KERJA_TERBIT: Final[dict[str, int]] = {"SELF_DECLARE": 12, "REGULER": 21}


class SkalaUsaha(StrEnum):
    MIKRO = "MIKRO"
    KECIL = "KECIL"
    MENENGAH = "MENENGAH"
    BESAR = "BESAR"


class JenisPengajuan(StrEnum):
    SELF_DECLARE = "SELF_DECLARE"  # pernyataan pelaku usaha: micro and small only, Rp0
    REGULER = "REGULER"  # audit by an LPH, fee by business scale


#: Regular-route fee per business scale, rupiah: within Rp300,000 - Rp5,000,000
#: [S:HALAL-TARIF]; the split between the scales is [I].
TARIF_REGULER: Final[dict[SkalaUsaha, int]] = {
    SkalaUsaha.MIKRO: 300_000,
    SkalaUsaha.KECIL: 300_000,
    SkalaUsaha.MENENGAH: 2_500_000,
    SkalaUsaha.BESAR: 5_000_000,
}


class StatusWajibPajak(StrEnum):
    """DJP's KSWP answer, as SIHALAL records it."""

    VALID = "VALID"
    TIDAK_VALID = "TIDAK_VALID"


class StatusPengajuan(StrEnum):
    DIAJUKAN = "DIAJUKAN"
    VERIFIKASI = "VERIFIKASI"
    PENDAMPINGAN_PPH = "PENDAMPINGAN_PPH"
    MENUNGGU_PEMBAYARAN = "MENUNGGU_PEMBAYARAN"
    PEMERIKSAAN_LPH = "PEMERIKSAAN_LPH"
    SIDANG_FATWA = "SIDANG_FATWA"
    TERBIT = "TERBIT"
    DIKEMBALIKAN = "DIKEMBALIKAN"
    DITOLAK = "DITOLAK"
    KEDALUWARSA = "KEDALUWARSA"

    @property
    def akhir(self) -> bool:
        """Final: nothing will change any more."""
        return self in (StatusPengajuan.TERBIT, StatusPengajuan.DITOLAK, StatusPengajuan.KEDALUWARSA)


class KodePenolakan(StrEnum):
    """Why an application ended without a certificate (``penolakan.kode``)."""

    BAHAN_TIDAK_HALAL = "BAHAN_TIDAK_HALAL"  # the fatwa session found a non-halal ingredient
    BILLING_KEDALUWARSA = "BILLING_KEDALUWARSA"  # regular fee not paid within 7 days


class KodeGalat(StrEnum):
    """Error codes (``galat.kode``), each with its HTTP status."""

    API_KEY_TIDAK_VALID = "API_KEY_TIDAK_VALID"  # 401: X-Api-Key missing or wrong
    IDEMPOTENCY_KEY_WAJIB = "IDEMPOTENCY_KEY_WAJIB"  # 400: Idempotency-Key missing, blank or too long
    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 422: body does not match the protocol
    NIB_TIDAK_DITEMUKAN = "NIB_TIDAK_DITEMUKAN"  # 422: the NIB is not registered at OSS
    STATUS_WP_TIDAK_VALID = "STATUS_WP_TIDAK_VALID"  # 422: the KSWP answer is TIDAK_VALID
    SELF_DECLARE_TIDAK_BERHAK = "SELF_DECLARE_TIDAK_BERHAK"  # 422: self-declare for a medium/large business
    KUNCI_BENTROK = "KUNCI_BENTROK"  # 409: Idempotency-Key reused with another body
    PENGAJUAN_TIDAK_DITEMUKAN = "PENGAJUAN_TIDAK_DITEMUKAN"  # 404: unknown nomor_daftar
    KUOTA_HARIAN_HABIS = "KUOTA_HARIAN_HABIS"  # 429: the day's submissions are used up
    SISTEM_SIBUK = "SISTEM_SIBUK"  # 503 + Retry-After: overloaded, nothing applied
    LAYANAN_TIDAK_TERSEDIA = "LAYANAN_TIDAK_TERSEDIA"  # 503: down / maintenance
    WAKTU_HABIS = "WAKTU_HABIS"  # 504: the answer was lost (maybe after applying)
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404: unknown path
    METODE_TIDAK_DIIZINKAN = "METODE_TIDAK_DIIZINKAN"  # 405
    GALAT_INTERNAL = "GALAT_INTERNAL"  # anything else


class _Native(BaseModel):
    # SIHALAL validates strictly: an unknown field is refused, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Produk(_Native):
    nama_produk: str = Field(min_length=1, max_length=200)
    bahan: list[str] = Field(min_length=1, max_length=100, description="Ingredients as declared by the business.")


class PenanggungJawab(_Native):
    """The person submitting for the business (the applicant at the MPP counter)."""

    nik: str = Field(pattern=POLA_NIK)
    nama: str = Field(min_length=1, max_length=200)


class PengajuanSertifikasi(_Native):
    """Body of ``POST /api/sihalal/v1/pengajuan``."""

    nib: str = Field(pattern=POLA_NIB)
    nama_usaha: str = Field(min_length=1, max_length=200)
    skala_usaha: SkalaUsaha
    jenis_pengajuan: JenisPengajuan
    penanggung_jawab: PenanggungJawab
    produk: list[Produk] = Field(min_length=1, max_length=50)
    npwp: str | None = Field(default=None, pattern=POLA_NPWP)
    status_kswp: StatusWajibPajak | None = Field(default=None, description="DJP's taxpayer-status confirmation, when the caller has one.")
    waktu_konfirmasi_kswp: datetime | None = None

    @model_validator(mode="after")
    def _kswp_lengkap(self) -> PengajuanSertifikasi:
        if (self.status_kswp is None) != (self.waktu_konfirmasi_kswp is None):
            raise ValueError("status_kswp dan waktu_konfirmasi_kswp wajib diisi bersama")
        return self


class TandaTerimaPengajuan(_Native):
    """``data`` of the 201 answer: the application is registered."""

    nomor_daftar: str = Field(pattern=POLA_NOMOR_DAFTAR)
    status: Literal["DIAJUKAN"] = "DIAJUKAN"
    jenis_pengajuan: JenisPengajuan
    tanggal_pengajuan: date


class Tagihan(_Native):
    """The regular-route fee."""

    kode_billing: str = Field(pattern=POLA_KODE_BILLING)
    jumlah: int = Field(ge=0)
    batas_bayar: date
    tanggal_bayar: date | None = None


class Sertifikat(_Native):
    nomor_sertifikat: str = Field(pattern=POLA_NOMOR_SERTIFIKAT)
    tanggal_terbit: date


class CatatanPerbaikan(_Native):
    """One thing to fix in a returned application."""

    bagian: str = Field(min_length=1, max_length=200, description="Which part, e.g. 'produk[0].bahan[2]'.")
    keterangan: str = Field(min_length=1, max_length=2000)


class Penolakan(_Native):
    # Open on purpose: BPJPH may add reasons; KodePenolakan lists the ones known today.
    kode: str = Field(min_length=1, max_length=50)
    alasan: str = Field(min_length=1, max_length=2000)


class StatusPengajuanHalal(_Native):
    """``data`` of the status answer; sections appear as the application advances."""

    nomor_daftar: str = Field(pattern=POLA_NOMOR_DAFTAR)
    status: str = Field(description="A StatusPengajuan value; kept as text so new ones can be recognised as unknown.")
    jenis_pengajuan: JenisPengajuan
    tanggal_pengajuan: date
    keterangan: str
    biaya: int | None = Field(default=None, ge=0, description="Fee in rupiah, once set (0 for self-declare).")
    tagihan: Tagihan | None = None
    sertifikat: Sertifikat | None = None
    catatan_perbaikan: list[CatatanPerbaikan] | None = None
    penolakan: Penolakan | None = None


class Galat(_Native):
    kode: KodeGalat
    pesan: str
    rincian: list[str] | None = Field(default=None, description="Field-level problems (422 DATA_TIDAK_VALID only).")


class BalasanSukses(_Native):
    """Every successful answer: the operation's ``data`` inside the wrapper."""

    sukses: Literal[True] = True
    data: dict[str, object]


class BalasanGalat(_Native):
    """Every error answer, whatever the HTTP status."""

    sukses: Literal[False] = False
    galat: Galat


__all__ = [
    "HARI_BAYAR",
    "HARI_KERJA_TERBIT",
    "HEADER_API_KEY",
    "HEADER_IDEMPOTENCY_KEY",
    "HEADER_REPLAYED",
    "PATH_PENGAJUAN",
    "PATH_STATUS",
    "POLA_NOMOR_SERTIFIKAT",
    "TARIF_REGULER",
    "BalasanGalat",
    "BalasanSukses",
    "CatatanPerbaikan",
    "Galat",
    "JenisPengajuan",
    "KodeGalat",
    "KodePenolakan",
    "PenanggungJawab",
    "PengajuanSertifikasi",
    "Penolakan",
    "Produk",
    "Sertifikat",
    "SkalaUsaha",
    "StatusPengajuan",
    "StatusPengajuanHalal",
    "StatusWajibPajak",
    "Tagihan",
    "TandaTerimaPengajuan",
]
