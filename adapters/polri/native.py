"""Polri's own ("native") messages: asynchronous REST/JSON with signed callbacks.

Polri (here the Polres Bukittinggi counter at the MPP) does not decide on the spot:
an SKCK needs a fingerprint (INAFIS) and criminal-record check, a SIM renewal needs
the health/psychology results and a print run. So its backend *accepts* an
application (HTTP 202 with a ``nomor_registrasi``) and later POSTs the verdict to the
``callback_url`` the caller gave, signed with a shared HMAC secret.

This module is the wire format only, as the foreign system defines it: Indonesian
field names, its own status words and error shape. It imports nothing from ``hub`` or
``schemas`` -- both the simulator (``adapters.polri.simulator``) and the adapter
(``adapters.polri.adapter``) build on it.

Protocol
========

``POST /api/v1/skck/permohonan`` (SKCK baru / perpanjangan),
``POST /api/v1/sim/perpanjangan`` (SIM renewal) and
``POST /api/v1/kendaraan/cek-fisik`` (vehicle physical check + stolen/blocked check
before an ownership transfer, done by the Polri unit at the Samsat office) and
``POST /api/v1/spkt/laporan-kehilangan`` (a lost-document report at the SPKT):

* header ``X-Request-Id``: the caller's idempotency key (the hub sends its step id);
  the same id with the same body is answered with the stored receipt, with another
  body it is refused (409 ``REQUEST_ID_BENTROK``);
* body: :class:`PermohonanSkck` / :class:`PermohonanPerpanjanganSim` /
  :class:`PermohonanCekFisik`, including ``callback_url``;
* answer 202 :class:`TandaTerima` ``{"nomor_registrasi", "status": "DITERIMA", ...}``;
  every error: :class:`GalatPolri` ``{"status": "GAGAL", "kode", "pesan"}``.

Later Polri POSTs :class:`PemberitahuanStatus` to ``callback_url`` with
``X-Callback-Signature: t=<unix>,v1=<hmac-sha256 of "<t>.<X-Request-Id>.<body>">``:
``DIPROSES`` (still being worked on, e.g. a record hit under coordination), then one
verdict, ``TERBIT`` (issued, with the document: ``skck``, ``sim`` or ``cek_fisik``) or
``DITOLAK`` (refused, with a reason).

Facts (sources by key in docs/domain-sources.md, "Polri"):

* SKCK Rp30,000, valid 6 months [S:SKCK-TRIB][S:SKCK-BK]; renewal with the old SKCK at
  most 1 year past expiry [S:SKCK-BK]; SKCK numbers are unit-issued register numbers
  like ``SKCK/YANMAS/01234/III/2026/INTELKAM`` [I].
* SIM renewal (PP 60/2016, kept by PP 76/2020): A, B I, B II Rp80,000; C, C I, C II
  Rp75,000; D, D I Rp30,000 [S:SIM-FEES]
  (https://repelita.id/2025/01/sim-kedaluwarsa-harus-dibuat-baru.html lists the I/II
  sub-classes). A SIM is valid 5 years from issue and can only be renewed *before* it
  expires; an expired SIM, even by one day, needs a new SIM with exams
  (Perpol 5/2021 pasal 4 ayat 1 and 3; https://www.cna.id/indonesia/sim-anda-mati-harus-bikin-baru-atau-bisa-diperpanjang-38216).
  SIM numbers are 12-14 digits, opaque [I].
* SKCK and SIM applicants must be active JKN members: Perpol 6/2023 (SKCK) and
  Perpol 2/2023 (SIM), after Inpres 1/2022 [S:JKN-SKCK][S:JKN-SIM-PILOT]; an
  application may carry the JKN card number (``no_kartu_jkn``), and Polri checks the
  NIK's membership with BPJS Kesehatan either way.
* Lost-document report (surat keterangan tanda lapor kehilangan) at the SPKT: free
  (no PNBP), issued the same day, it lists the lost items and carries a number the
  replacing agency asks for [S:SKTLK-FORTUNE][S:SKTLK-KONTAN][S:SKTLK-KEPRI]; the
  number's shape ``STPLK/<seq>/<Roman month>/<year>/SPKT/<unit>`` is [I].
* Vehicle check (cek fisik): part of every ownership transfer, "Physical check -> tax
  assessment -> payment -> STNK -> BPKB" (flow F1 in docs/domain-sources.md [S:BBN-KOMPAS]
  [S:BBN-DETIK]); the chassis number is the 17-character VIN (ISO 3779, no I/O/Q), the
  engine number 6-20 letters/digits [I]. No PNBP is charged for the check itself (it is
  not in PP 60/2016's tariff list) [I]. The clearance letter number is an opaque
  unit-issued register number like the SKCK's [I].
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PATH_SKCK: Final[str] = "/api/v1/skck/permohonan"
PATH_SIM_PERPANJANGAN: Final[str] = "/api/v1/sim/perpanjangan"
PATH_CEK_FISIK: Final[str] = "/api/v1/kendaraan/cek-fisik"
PATH_LAPORAN_KEHILANGAN: Final[str] = "/api/v1/spkt/laporan-kehilangan"

#: The caller's idempotency key; also names the application in the callback.
HEADER_REQUEST_ID: Final[str] = "X-Request-Id"
#: Set to ``true`` on a receipt replayed for a repeated ``X-Request-Id``.
HEADER_REPLAYED: Final[str] = "X-Idempotent-Replay"

POLA_NIK: Final[str] = r"^[0-9]{16}$"
POLA_NOMOR_SIM: Final[str] = r"^[0-9]{12,14}$"
#: Polri only checks the shape on receipt; whether the old SKCK exists is found out
#: during processing and answered in the verdict.
POLA_NOMOR_SKCK: Final[str] = r"^SKCK/[A-Z0-9./ -]{3,94}$"
POLA_URL: Final[str] = r"^https?://[^\s]+$"
#: Plate as the register writes it: ``BA 1234 LZ`` (region, serial without leading zero, series).
POLA_NOPOL: Final[str] = r"^[A-Z]{1,2} [1-9][0-9]{0,3}( [A-Z]{1,3})?$"
#: Chassis number (nomor rangka) = the 17-character VIN (ISO 3779: no I, O or Q).
POLA_NOMOR_RANGKA: Final[str] = r"^[A-HJ-NPR-Z0-9]{17}$"
#: Engine number (nomor mesin): manufacturer-specific, 6-20 letters/digits [I].
POLA_NOMOR_MESIN: Final[str] = r"^[A-Z0-9]{6,20}$"
POLA_KODE: Final[str] = r"^[A-Z][A-Z0-9_]{1,49}$"
#: JKN card number (nomor kartu BPJS Kesehatan): 13 digits.
POLA_KARTU_JKN: Final[str] = r"^[0-9]{13}$"
#: A loss report's number as the SPKT prints it [I].
POLA_NOMOR_LAPORAN: Final[str] = r"^STPLK/[0-9]{4}/[IVX]{1,4}/[0-9]{4}/SPKT/[A-Z ]{3,60}$"

BIAYA_SKCK: Final[int] = 30_000
MASA_BERLAKU_SKCK_BULAN: Final[int] = 6
MASA_BERLAKU_SIM_TAHUN: Final[int] = 5


class Layanan(StrEnum):
    """Which of Polri's services an application is for."""

    SKCK_BARU = "SKCK_BARU"
    SKCK_PERPANJANGAN = "SKCK_PERPANJANGAN"
    SIM_PERPANJANGAN = "SIM_PERPANJANGAN"
    CEK_FISIK_KENDARAAN = "CEK_FISIK_KENDARAAN"
    LAPORAN_KEHILANGAN = "LAPORAN_KEHILANGAN"


#: Which document a ``TERBIT`` callback carries for each service.
DOKUMEN_LAYANAN: Final[dict[Layanan, str]] = {
    Layanan.SKCK_BARU: "skck",
    Layanan.SKCK_PERPANJANGAN: "skck",
    Layanan.SIM_PERPANJANGAN: "sim",
    Layanan.CEK_FISIK_KENDARAAN: "cek_fisik",
    Layanan.LAPORAN_KEHILANGAN: "laporan_kehilangan",
}


class JenisKendaraan(StrEnum):
    MOBIL = "MOBIL"
    MOTOR = "MOTOR"


class JenisPermohonanSkck(StrEnum):
    BARU = "BARU"
    PERPANJANGAN = "PERPANJANGAN"


class GolonganSim(StrEnum):
    """SIM classes as Polri writes them (Roman sub-classes, Perpol 5/2021 pasal 3)."""

    A = "A"
    B_I = "BI"
    B_II = "BII"
    C = "C"
    C_I = "CI"
    C_II = "CII"
    D = "D"
    D_I = "DI"


#: SIM renewal PNBP per class, rupiah [S:SIM-FEES].
BIAYA_PERPANJANGAN_SIM: Final[dict[GolonganSim, int]] = {
    GolonganSim.A: 80_000,
    GolonganSim.B_I: 80_000,
    GolonganSim.B_II: 80_000,
    GolonganSim.C: 75_000,
    GolonganSim.C_I: 75_000,
    GolonganSim.C_II: 75_000,
    GolonganSim.D: 30_000,
    GolonganSim.D_I: 30_000,
}


class StatusPermohonan(StrEnum):
    """Polri's status words for an application (a closed set)."""

    DITERIMA = "DITERIMA"  # received, queued (the 202 receipt)
    DIPROSES = "DIPROSES"  # being processed (fingerprint / record check / printing)
    TERBIT = "TERBIT"  # issued: the document is ready
    DITOLAK = "DITOLAK"  # refused, with a reason


class KodeAlasan(StrEnum):
    """Reasons Polri gives in a ``DITOLAK`` verdict (``penolakan.kode_alasan``)."""

    CATATAN_KRIMINAL = "CATATAN_KRIMINAL"  # criminal-record hit at the INAFIS/record check
    SKCK_LAMA_TIDAK_DITEMUKAN = "SKCK_LAMA_TIDAK_DITEMUKAN"  # old SKCK not in the register
    SKCK_LAMA_KADALUARSA = "SKCK_LAMA_KADALUARSA"  # old SKCK more than 1 year past expiry
    SIM_TIDAK_DITEMUKAN = "SIM_TIDAK_DITEMUKAN"  # old SIM not in the register
    SIM_KADALUARSA = "SIM_KADALUARSA"  # old SIM already expired: apply for a new SIM
    NOPOL_TIDAK_TERDAFTAR = "NOPOL_TIDAK_TERDAFTAR"  # vehicle check: plate not in the register
    KENDARAAN_DIBLOKIR = "KENDARAAN_DIBLOKIR"  # vehicle check: reported stolen or blocked
    CEK_FISIK_TIDAK_SESUAI = "CEK_FISIK_TIDAK_SESUAI"  # vehicle check: chassis/engine differ from the register
    JKN_TIDAK_AKTIF = "JKN_TIDAK_AKTIF"  # SKCK/SIM: the applicant's JKN membership is not active
    JKN_TIDAK_TERDAFTAR = "JKN_TIDAK_TERDAFTAR"  # SKCK/SIM: the applicant is not a JKN member at all
    JKN_TIDAK_SESUAI = "JKN_TIDAK_SESUAI"  # SKCK/SIM: the JKN card number is not the applicant's
    KEJADIAN_BELUM_TERJADI = "KEJADIAN_BELUM_TERJADI"  # loss report: the loss is dated in the future


class KodeGalat(StrEnum):
    """Synchronous error codes (``kode``), each with its HTTP status."""

    REQUEST_ID_WAJIB = "REQUEST_ID_WAJIB"  # 400: X-Request-Id missing or blank
    REQUEST_ID_TIDAK_VALID = "REQUEST_ID_TIDAK_VALID"  # 400: too long / unprintable
    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 422: body does not match the protocol
    REQUEST_ID_BENTROK = "REQUEST_ID_BENTROK"  # 409: X-Request-Id reused with another body
    KUOTA_HARIAN_HABIS = "KUOTA_HARIAN_HABIS"  # 429: the counter's daily quota is used up
    LAYANAN_SIBUK = "LAYANAN_SIBUK"  # 503 + Retry-After: overloaded, nothing applied
    LAYANAN_TIDAK_TERSEDIA = "LAYANAN_TIDAK_TERSEDIA"  # 503: down / maintenance
    GATEWAY_TIMEOUT = "GATEWAY_TIMEOUT"  # 504: the answer was lost (maybe after applying)
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404: unknown path
    METODE_TIDAK_DIIZINKAN = "METODE_TIDAK_DIIZINKAN"  # 405
    GALAT_INTERNAL = "GALAT_INTERNAL"  # anything else


class _Native(BaseModel):
    # Polri's backend is strict: an unknown field is refused, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PermohonanSkck(_Native):
    """Body of ``POST /api/v1/skck/permohonan``."""

    jenis_permohonan: JenisPermohonanSkck
    nik: str = Field(pattern=POLA_NIK)
    nama_lengkap: str = Field(min_length=1, max_length=200)
    alamat_domisili: str = Field(min_length=5, max_length=300, description="As on the KTP.")
    keperluan: str = Field(min_length=3, max_length=200, description="What the SKCK is for.")
    nomor_skck_lama: str | None = Field(default=None, pattern=POLA_NOMOR_SKCK)
    masa_berlaku_skck_lama: date | None = None
    no_kartu_jkn: str | None = Field(default=None, pattern=POLA_KARTU_JKN, description="JKN card, if shown.")
    callback_url: str = Field(pattern=POLA_URL, max_length=2000)

    @model_validator(mode="after")
    def _data_skck_lama(self) -> PermohonanSkck:
        lama = (self.nomor_skck_lama, self.masa_berlaku_skck_lama)
        if self.jenis_permohonan is JenisPermohonanSkck.PERPANJANGAN and None in lama:
            raise ValueError("PERPANJANGAN wajib menyertakan nomor_skck_lama dan masa_berlaku_skck_lama")
        if self.jenis_permohonan is JenisPermohonanSkck.BARU and lama != (None, None):
            raise ValueError("permohonan BARU tidak boleh menyertakan data SKCK lama")
        return self

    @property
    def layanan(self) -> Layanan:
        return Layanan.SKCK_BARU if self.jenis_permohonan is JenisPermohonanSkck.BARU else Layanan.SKCK_PERPANJANGAN


class PermohonanPerpanjanganSim(_Native):
    """Body of ``POST /api/v1/sim/perpanjangan``."""

    nik: str = Field(pattern=POLA_NIK)
    nama_lengkap: str = Field(min_length=1, max_length=200)
    golongan_sim: GolonganSim
    nomor_sim_lama: str = Field(pattern=POLA_NOMOR_SIM)
    masa_berlaku_sim_lama: date
    no_kartu_jkn: str | None = Field(default=None, pattern=POLA_KARTU_JKN, description="JKN card, if shown.")
    callback_url: str = Field(pattern=POLA_URL, max_length=2000)

    @property
    def layanan(self) -> Layanan:
        return Layanan.SIM_PERPANJANGAN


class PermohonanCekFisik(_Native):
    """Body of ``POST /api/v1/kendaraan/cek-fisik``: the vehicle as presented at the check bay."""

    nik: str = Field(pattern=POLA_NIK, description="Who presents the vehicle (the applicant).")
    nama_lengkap: str = Field(min_length=1, max_length=200)
    nopol: str = Field(pattern=POLA_NOPOL)
    jenis_kendaraan: JenisKendaraan
    nomor_rangka: str = Field(pattern=POLA_NOMOR_RANGKA, description="As rubbed off the vehicle.")
    nomor_mesin: str = Field(pattern=POLA_NOMOR_MESIN, description="As rubbed off the vehicle.")
    callback_url: str = Field(pattern=POLA_URL, max_length=2000)

    @property
    def layanan(self) -> Layanan:
        return Layanan.CEK_FISIK_KENDARAAN


class JenisBarang(StrEnum):
    """What was lost, as the SPKT form lists it."""

    KTP = "KTP"
    KK = "KK"
    SIM = "SIM"
    STNK = "STNK"
    BPKB = "BPKB"
    PASPOR = "PASPOR"
    KARTU_ATM = "KARTU_ATM"
    BUKU_NIKAH = "BUKU_NIKAH"
    IJAZAH = "IJAZAH"
    LAINNYA = "LAINNYA"


class BarangHilang(_Native):
    jenis: JenisBarang
    nomor_dokumen: str | None = Field(default=None, min_length=1, max_length=50)
    keterangan: str | None = Field(default=None, min_length=1, max_length=200)


class PermohonanLaporanKehilangan(_Native):
    """Body of ``POST /api/v1/spkt/laporan-kehilangan``: the reporter and what was lost."""

    nik: str = Field(pattern=POLA_NIK)
    nama_lengkap: str = Field(min_length=1, max_length=200)
    barang: list[BarangHilang] = Field(min_length=1, max_length=10)
    tanggal_kejadian: date
    tempat_kejadian: str = Field(min_length=3, max_length=200)
    kronologi: str = Field(min_length=10, max_length=2000)
    callback_url: str = Field(pattern=POLA_URL, max_length=2000)

    @property
    def layanan(self) -> Layanan:
        return Layanan.LAPORAN_KEHILANGAN


class TandaTerima(_Native):
    """The 202 receipt: the application is registered; the verdict comes by callback."""

    status: Literal["DITERIMA"] = "DITERIMA"
    nomor_registrasi: str = Field(min_length=1, max_length=100)
    layanan: Layanan
    diterima_pada: datetime


class DokumenSkck(_Native):
    nomor_skck: str = Field(min_length=1, max_length=100)
    tanggal_terbit: date
    berlaku_sampai: date
    biaya_pnbp: int = Field(ge=0)


class DokumenSim(_Native):
    nomor_sim: str = Field(pattern=POLA_NOMOR_SIM)
    golongan_sim: GolonganSim
    tanggal_terbit: date
    berlaku_sampai: date
    biaya_pnbp: int = Field(ge=0)


class DokumenCekFisik(_Native):
    """The clearance letter of a passed vehicle check (only issued for a clean vehicle)."""

    nomor_surat_keterangan: str = Field(min_length=1, max_length=100)
    nopol: str = Field(pattern=POLA_NOPOL)
    nomor_rangka: str = Field(pattern=POLA_NOMOR_RANGKA)
    nomor_mesin: str = Field(pattern=POLA_NOMOR_MESIN)
    tanggal_periksa: date
    status_ranmor: Literal["BERSIH"] = Field(description="Not reported stolen, not blocked.")


class DokumenLaporanKehilangan(_Native):
    """The loss report (surat keterangan tanda lapor kehilangan): free of charge."""

    nomor_laporan: str = Field(pattern=POLA_NOMOR_LAPORAN)
    tanggal_lapor: date
    barang: list[JenisBarang] = Field(min_length=1, max_length=10)
    biaya_pnbp: Literal[0] = 0


class Penolakan(_Native):
    # Open on purpose: Polri may add reasons; KodeAlasan lists the ones known today.
    kode_alasan: str = Field(pattern=POLA_KODE)
    alasan: str = Field(min_length=1, max_length=2000)


class PemberitahuanStatus(_Native):
    """The callback body Polri POSTs to ``callback_url``."""

    nomor_registrasi: str = Field(min_length=1, max_length=100)
    id_permintaan: str = Field(min_length=1, max_length=200, description="The X-Request-Id of the application.")
    layanan: Layanan
    status: StatusPermohonan
    waktu: datetime
    tahap: str | None = Field(default=None, max_length=200, description="DIPROSES: which stage.")
    skck: DokumenSkck | None = None
    sim: DokumenSim | None = None
    cek_fisik: DokumenCekFisik | None = None
    laporan_kehilangan: DokumenLaporanKehilangan | None = None
    penolakan: Penolakan | None = None

    @model_validator(mode="after")
    def _isi_sesuai_status(self) -> PemberitahuanStatus:
        ada = {nama for nama in set(DOKUMEN_LAYANAN.values()) if getattr(self, nama) is not None}
        if self.status is StatusPermohonan.TERBIT:
            wajib = DOKUMEN_LAYANAN[self.layanan]
            if wajib not in ada:
                raise ValueError(f"TERBIT {self.layanan} wajib menyertakan dokumen {wajib}")
            if ada != {wajib}:
                raise ValueError("dokumen tidak sesuai layanan")
        elif ada:
            raise ValueError("dokumen hanya disertakan pada status TERBIT")
        if (self.status is StatusPermohonan.DITOLAK) != (self.penolakan is not None):
            raise ValueError("penolakan wajib ada pada status DITOLAK, dan hanya pada status itu")
        return self


class GalatPolri(_Native):
    """Every synchronous error reply, whatever the HTTP status."""

    status: Literal["GAGAL"] = "GAGAL"
    kode: KodeGalat
    pesan: str
    rincian: list[str] | None = Field(default=None, description="Field-level problems (422 only).")


__all__ = [
    "BIAYA_PERPANJANGAN_SIM",
    "BIAYA_SKCK",
    "DOKUMEN_LAYANAN",
    "HEADER_REPLAYED",
    "HEADER_REQUEST_ID",
    "MASA_BERLAKU_SIM_TAHUN",
    "MASA_BERLAKU_SKCK_BULAN",
    "PATH_CEK_FISIK",
    "PATH_LAPORAN_KEHILANGAN",
    "PATH_SIM_PERPANJANGAN",
    "PATH_SKCK",
    "BarangHilang",
    "DokumenCekFisik",
    "DokumenLaporanKehilangan",
    "DokumenSim",
    "DokumenSkck",
    "GalatPolri",
    "GolonganSim",
    "JenisBarang",
    "JenisKendaraan",
    "JenisPermohonanSkck",
    "KodeAlasan",
    "KodeGalat",
    "Layanan",
    "PemberitahuanStatus",
    "Penolakan",
    "PermohonanCekFisik",
    "PermohonanLaporanKehilangan",
    "PermohonanPerpanjanganSim",
    "PermohonanSkck",
    "StatusPermohonan",
    "TandaTerima",
]
