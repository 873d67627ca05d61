"""Kemenhaj's own ("native") messages: Siskohat's host-to-host batch exchange.

Siskohat (Sistem Informasi dan Komputerisasi Haji Terpadu) is the hajj register,
run by Kemenag's Ditjen PHU until UU 14/2025 and Perpres 92/2025 created the
Kementerian Haji dan Umrah, which took it over [S:KEMENHAJ]. Registrations,
cancellations and portion transfers are entered at the regency/city office and
confirmed in Siskohat [S:HAJI-REFUND]. Siskohat's partner interface is not public:
the exchange below -- records put into an inbox batch the agency closes at cut-off
times, results read from the batch's result file -- is this project's model of a
file-exchanging government system [I].

This module is the wire format only; the simulator (``adapters.kemenhaj.simulator``)
and the adapter (``adapters.kemenhaj.adapter``) both build on it.

Protocol
========

Every request carries ``X-Siskohat-Key`` (the key Kemenhaj issued to the hub).

``PUT /siskohat/h2h/v1/inbox/rekaman/{id_rekaman}`` -- put one record into the open batch
    ``id_rekaman`` is the caller's record id (the hub sends its step id); the same id
    with the same record is answered with the stored receipt (header
    ``X-Rekaman-Ulang: true``), with another record ``409 REKAMAN_BENTROK``. Body: one
    :data:`Rekaman` (``jenis`` names its kind). Answer ``202`` :class:`TandaTerima`:
    the batch it went into and the batch's cut-off (``batas_tutup``).
``GET /siskohat/h2h/v1/outbox/{id_batch}`` -- the batch's result file
    While the batch is open: ``409 BATCH_BELUM_DITUTUP`` with ``Retry-After``. Once
    closed: ``200`` ``application/x-ndjson``, first line :class:`KepalaBerkas`, then one
    :class:`HasilRekaman` per record in the batch, in the order they were put.

Every error: ``{"galat":`` :class:`Galat` ``}`` with the HTTP status of its :class:`KodeGalat`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

PATH_INBOX: Final = "/siskohat/h2h/v1/inbox/rekaman/{id_rekaman}"
PATH_OUTBOX: Final = "/siskohat/h2h/v1/outbox/{id_batch}"
HEADER_API_KEY: Final = "X-Siskohat-Key"
HEADER_REPLAYED: Final = "X-Rekaman-Ulang"
MEDIA_NDJSON: Final = "application/x-ndjson"

_Nik = Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")]
_Porsi = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")]
_Teks = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class _Native(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KodeGalat(StrEnum):
    LAYANAN_TIDAK_TERSEDIA = "LAYANAN_TIDAK_TERSEDIA"  # 503
    SISTEM_SIBUK = "SISTEM_SIBUK"  # 503
    WAKTU_HABIS = "WAKTU_HABIS"  # 504
    KUNCI_TIDAK_VALID = "KUNCI_TIDAK_VALID"  # 401
    ID_REKAMAN_TIDAK_VALID = "ID_REKAMAN_TIDAK_VALID"  # 400
    REKAMAN_TIDAK_VALID = "REKAMAN_TIDAK_VALID"  # 422
    REKAMAN_BENTROK = "REKAMAN_BENTROK"  # 409
    KUOTA_HARIAN_HABIS = "KUOTA_HARIAN_HABIS"  # 429
    BATCH_BELUM_DITUTUP = "BATCH_BELUM_DITUTUP"  # 409
    BATCH_TIDAK_DITEMUKAN = "BATCH_TIDAK_DITEMUKAN"  # 404
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404
    METODE_TIDAK_DIIZINKAN = "METODE_TIDAK_DIIZINKAN"  # 405
    GALAT_INTERNAL = "GALAT_INTERNAL"


class Galat(_Native):
    kode: KodeGalat
    pesan: str
    rincian: list[str] | None = None


class BalasanGalat(_Native):
    galat: Galat


class JenisRekaman(StrEnum):
    PENDAFTARAN = "PENDAFTARAN"
    PEMBATALAN = "PEMBATALAN"
    PELIMPAHAN = "PELIMPAHAN"


class RekamanPendaftaran(_Native):
    """Pendaftaran haji reguler, after the deposit at a BPS-BPIH bank."""

    jenis: Literal[JenisRekaman.PENDAFTARAN]
    nik: _Nik
    nama: _Teks
    no_kk: _Nik
    kode_kantor: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    bank_bps: _Teks
    nomor_validasi: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    nominal_setoran: int = Field(ge=0)
    tanggal_setoran: date
    no_surat_sehat: _Teks


class AlasanBatal(StrEnum):
    MENGUNDURKAN_DIRI = "MENGUNDURKAN_DIRI"
    MENINGGAL_DUNIA = "MENINGGAL_DUNIA"


class RekamanPembatalan(_Native):
    jenis: Literal[JenisRekaman.PEMBATALAN]
    nomor_porsi: _Porsi
    nik_jemaah: _Nik
    nik_pemohon: _Nik
    alasan: AlasanBatal
    no_rekening: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")]
    no_akta_kematian: _Teks | None = None


class SebabPelimpahan(StrEnum):
    MENINGGAL_DUNIA = "MENINGGAL_DUNIA"
    SAKIT_PERMANEN = "SAKIT_PERMANEN"


class Hubungan(StrEnum):
    SUAMI_ISTRI = "SUAMI_ISTRI"
    AYAH = "AYAH"
    IBU = "IBU"
    ANAK_KANDUNG = "ANAK_KANDUNG"
    SAUDARA_KANDUNG = "SAUDARA_KANDUNG"


class RekamanPelimpahan(_Native):
    jenis: Literal[JenisRekaman.PELIMPAHAN]
    nomor_porsi: _Porsi
    nik_jemaah: _Nik
    sebab: SebabPelimpahan
    nik_penerima: _Nik
    nama_penerima: _Teks
    hubungan: Hubungan
    tanggal_wafat: date | None = None
    nomor_surat: _Teks


Rekaman = Annotated[RekamanPendaftaran | RekamanPembatalan | RekamanPelimpahan, Field(discriminator="jenis")]


class TandaTerima(_Native):
    """The receipt of a record put into a batch."""

    id_rekaman: str
    id_batch: str
    nomor_urut: int = Field(ge=1, description="Place of the record in its batch.")
    batas_tutup: datetime = Field(description="When the batch closes (cut-off); its result file follows.")
    status: Literal["DITERIMA"] = "DITERIMA"


class KepalaBerkas(_Native):
    """First line of a result file."""

    id_batch: str
    ditutup_pada: datetime
    jumlah_rekaman: int = Field(ge=0)


class StatusHasil(StrEnum):
    TERDAFTAR = "TERDAFTAR"  # registered: a nomor porsi was issued
    DIBATALKAN = "DIBATALKAN"  # cancelled: the deposit is being refunded
    DILIMPAHKAN = "DILIMPAHKAN"  # transferred to the heir
    DITOLAK = "DITOLAK"  # refused: kode_tolak says why


class KodeTolak(StrEnum):
    USIA_BELUM_12_TAHUN = "USIA_BELUM_12_TAHUN"
    SUDAH_TERDAFTAR = "SUDAH_TERDAFTAR"
    SETORAN_LEWAT_5_HARI_KERJA = "SETORAN_LEWAT_5_HARI_KERJA"
    PORSI_TIDAK_DITEMUKAN = "PORSI_TIDAK_DITEMUKAN"
    PORSI_TIDAK_AKTIF = "PORSI_TIDAK_AKTIF"
    NIK_JEMAAH_TIDAK_SESUAI = "NIK_JEMAAH_TIDAK_SESUAI"
    SUDAH_PERNAH_DILIMPAHKAN = "SUDAH_PERNAH_DILIMPAHKAN"
    WAFAT_SEBELUM_29_APRIL_2019 = "WAFAT_SEBELUM_29_APRIL_2019"
    AHLI_WARIS_SUDAH_TERDAFTAR = "AHLI_WARIS_SUDAH_TERDAFTAR"


class HasilRekaman(_Native):
    """One line of a result file: what became of one record."""

    id_rekaman: str
    jenis: JenisRekaman
    status: StatusHasil
    kode_tolak: str | None = None
    keterangan: str | None = None
    tanggal: date | None = None
    nomor_porsi: str | None = None
    nomor_spph: str | None = None
    estimasi_berangkat: int | None = None
    nomor_validasi_bank: str | None = None
    dana_kembali: int | None = None
    perkiraan_dana_diterima: date | None = None
