"""DJP's own ("native") REST/JSON messages, as its backend speaks them.

DJP (Direktorat Jenderal Pajak, the tax directorate) runs Coretax; the MPP counter
in Bukittinggi talks to it as KPP Pratama Bukittinggi's service point. The backend is
a foreign system to the hub: Indonesian field names, its own error shape, and an
OAuth2 client-credentials token (RFC 6749 section 4.4) in front of every API call,
a token that expires and can be revoked at any time.

These models describe the wire format exactly so that the simulator
(``adapters.djp.simulator``) can validate and produce it and the adapter can
translate canonical messages to and from it. On purpose this module imports nothing
from ``hub`` or ``schemas``: it imitates a system we do not control.

Facts (sources by key in docs/domain-sources.md, "DJP"):

* NIK = NPWP for resident individuals (PMK 112/2022; mandatory from 1 Jul 2024 per
  PMK 136/2023 and PER-6/PJ/2024). Others: ``0`` + the legacy 15 digits
  ``AA BBBBBB C DDD EEE`` where DDD is the KPP (tax office) code.
* KPP codes of Kanwil DJP Sumatera Barat dan Jambi [S: public list of DJP office
  codes]: 201 Padang Satu, 202 Bukittinggi, 203 Solok, 204 Payakumbuh, 205 Padang Dua.
* KSWP (Konfirmasi Status Wajib Pajak; PER-43/PJ/2015, SE-33/PJ/2016, in Coretax as
  service AS.01-02) answers VALID or TIDAK VALID. The two published reasons for
  TIDAK VALID: the NPWP is not an active, matching registration, or the annual
  income-tax returns (SPT Tahunan) of the last 2 tax years were not filed [S].
* SKF (Surat Keterangan Fiskal, PER-8/PJ/2025 art. 3-9): issued automatically when
  (1) SPT Tahunan for the last 2 tax years and SPT Masa PPN for the last 3 VAT
  periods (where due) were filed, (2) there is no tax debt (or it is deferred or in
  instalments), (3) the taxpayer is not under criminal tax investigation; otherwise
  refused. Valid 1 month from issue (art. 6(1)) [S:SKF-DDTC].
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# ----------------------------------------------------------------------- paths

#: OAuth2 token endpoint (client credentials grant).
PATH_TOKEN: Final[str] = "/oauth/token"

#: Activation of a NIK as NPWP (Coretax account activation for an individual).
PATH_AKTIVASI: Final[str] = "/api/v1/wajib-pajak/aktivasi"

#: KSWP is a read: ``GET /api/v1/kswp/{npwp}?keperluan=...``.
PATH_KSWP: Final[str] = "/api/v1/kswp/{npwp}"

#: SKF request (issued at once when the criteria are met).
PATH_SKF: Final[str] = "/api/v1/skf"
PATH_NPWP_BADAN: Final[str] = "/api/v1/wajib-pajak/badan"
#: NITKU (nomor identitas tempat kegiatan usaha): the NPWP + 6 digits (000000 = head office).
POLA_NITKU: Final[str] = r"^[0-9]{22}$"

#: Header carrying the caller's idempotency key on writes (the hub passes its step id).
HEADER_IDEMPOTENCY_KEY: Final[str] = "X-Idempotency-Key"

#: Set to ``true`` when a stored answer is replayed for a repeated key.
HEADER_IDEMPOTENT_REPLAYED: Final[str] = "X-Idempotent-Replayed"

# -------------------------------------------------------------------- patterns

POLA_NIK: Final[str] = r"^[0-9]{16}$"
POLA_NPWP: Final[str] = r"^[0-9]{16}$"
#: Indonesian mobile number as DJP stores it: 08 + 8-11 digits (no +62).
POLA_NOMOR_HP: Final[str] = r"^08[1-9][0-9]{7,10}$"
#: Deliberately simple: DJP checks the shape, the mailbox is verified by a link.
POLA_EMAIL: Final[str] = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$"
POLA_KODE_KPP: Final[str] = r"^[0-9]{3}$"
#: A VAT period (masa pajak) as YYYY-MM.
POLA_MASA: Final[str] = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

#: KPP names by code (Kanwil DJP Sumatera Barat dan Jambi).
NAMA_KPP: Final[dict[str, str]] = {
    "201": "KPP Pratama Padang Satu",
    "202": "KPP Pratama Bukittinggi",
    "203": "KPP Pratama Solok",
    "204": "KPP Pratama Payakumbuh",
    "205": "KPP Pratama Padang Dua",
}

#: The office behind the MPP Bukittinggi counter.
KODE_KPP_BUKITTINGGI: Final[str] = "202"


# ----------------------------------------------------------------------- enums


class StatusAktivasi(StrEnum):
    AKTIF = "AKTIF"  # the NIK is an active NPWP (newly or already)


class StatusKswp(StrEnum):
    VALID = "VALID"
    TIDAK_VALID = "TIDAK_VALID"


class StatusSkf(StrEnum):
    TERBIT = "TERBIT"  # issued


class StatusGalat(StrEnum):
    DITOLAK = "DITOLAK"  # refused on the merits
    GAGAL = "GAGAL"  # technical failure or bad request


class KodeKriteria(StrEnum):
    """Compliance criteria DJP checks (KSWP uses the first two, SKF the last four)."""

    NPWP_AKTIF = "NPWP_AKTIF"
    SPT_TAHUNAN_2_TAHUN = "SPT_TAHUNAN_2_TAHUN"
    SPT_MASA_PPN_3_MASA = "SPT_MASA_PPN_3_MASA"
    TIDAK_ADA_UTANG_PAJAK = "TIDAK_ADA_UTANG_PAJAK"
    TIDAK_DALAM_PENYIDIKAN = "TIDAK_DALAM_PENYIDIKAN"


class KodeGalat(StrEnum):
    """DJP's error codes (``kode``); a closed set the adapter maps to outcomes."""

    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 400: malformed input
    IDEMPOTENCY_KEY_WAJIB = "IDEMPOTENCY_KEY_WAJIB"  # 400: header missing / invalid
    TOKEN_WAJIB = "TOKEN_WAJIB"  # 401: no bearer token
    TOKEN_TIDAK_VALID = "TOKEN_TIDAK_VALID"  # 401: unknown, expired or revoked token
    NIK_TIDAK_VALID = "NIK_TIDAK_VALID"  # 422 DITOLAK: NIK not matched at Dukcapil
    NPWP_TIDAK_TERDAFTAR = "NPWP_TIDAK_TERDAFTAR"  # 404 DITOLAK: no such taxpayer
    SKF_KRITERIA_TIDAK_TERPENUHI = "SKF_KRITERIA_TIDAK_TERPENUHI"  # 422 DITOLAK, rincian = unmet criteria
    BADAN_SUDAH_TERDAFTAR = "BADAN_SUDAH_TERDAFTAR"  # 409 DITOLAK: the deed already has an NPWP
    PENANGGUNG_JAWAB_BUKAN_PENGURUS = "PENANGGUNG_JAWAB_BUKAN_PENGURUS"  # 422 DITOLAK: applicant not an officer
    KUNCI_SUDAH_DIPAKAI = "KUNCI_SUDAH_DIPAKAI"  # 409: key reused with another body
    KUOTA_HABIS = "KUOTA_HABIS"  # 429 DITOLAK: daily quota reached
    SISTEM_SIBUK = "SISTEM_SIBUK"  # 503: overload, retry (Retry-After)
    SISTEM_TIDAK_TERSEDIA = "SISTEM_TIDAK_TERSEDIA"  # 503: down / maintenance
    WAKTU_HABIS = "WAKTU_HABIS"  # 504: reply lost after the operation was applied
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404: unknown path
    METODE_TIDAK_DIIZINKAN = "METODE_TIDAK_DIIZINKAN"  # 405
    GALAT_INTERNAL = "GALAT_INTERNAL"  # anything else


# ---------------------------------------------------------------------- OAuth2


class TokenAkses(BaseModel):
    """RFC 6749 section 5.1 success answer. Extension parameters are allowed by the RFC,
    so unknown fields are ignored rather than refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: str = Field(min_length=1)
    token_type: str = Field(min_length=1, description="'Bearer' (case-insensitive per RFC 6749 section 7.1).")
    expires_in: float | None = Field(default=None, gt=0, description="Lifetime in seconds; RECOMMENDED, not required.")
    scope: str | None = None


class GalatOAuth(BaseModel):
    """RFC 6749 section 5.2 error answer of the token endpoint."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    error: str = Field(min_length=1)
    error_description: str | None = None


# ------------------------------------------------------------------ activation


class _Native(BaseModel):
    # DJP's API is strict: an unknown field is refused, not ignored (its OAuth answers are not).
    model_config = ConfigDict(extra="forbid", frozen=True)


class PermohonanAktivasi(_Native):
    """Body of ``POST /api/v1/wajib-pajak/aktivasi``; DJP is strict: unknown fields are refused."""

    nik: str = Field(pattern=POLA_NIK)
    nama: str = Field(min_length=1, max_length=200, description="Name as on the KTP.")
    email: str = Field(pattern=POLA_EMAIL, max_length=254)
    nomor_hp: str = Field(pattern=POLA_NOMOR_HP)


class _TandaTerimaKpp(_Native):
    """What an answer to a registration (an activation, an entity) carries: the NPWP, the
    tax office (KPP) that now administers it and the receipt. ``status`` is a plain string
    on purpose: the adapter, not the parser, decides what an unknown status means (a new
    Coretax status must not look like a malformed body)."""

    status: str = Field(min_length=1)
    npwp: str = Field(pattern=POLA_NPWP)
    kode_kpp: str = Field(pattern=POLA_KODE_KPP)
    nama_kpp: str = Field(min_length=1)
    nomor_tanda_terima: str = Field(min_length=1, description="Receipt number (bukti penerimaan).")


class HasilAktivasi(_TandaTerimaKpp):
    """200 answer of an activation."""

    tanggal_aktivasi: date
    aktivasi_baru: bool = Field(description="False when the NIK was already active: the original date is kept.")


# ------------------------------------------------------------------------ KSWP


class KriteriaHasil(_Native):
    kode: str = Field(min_length=1)
    terpenuhi: bool
    keterangan: str = ""


class HasilKswp(_Native):
    """200 answer of ``GET /api/v1/kswp/{npwp}``: TIDAK_VALID is an answer, not an error."""

    status: str = Field(min_length=1)
    npwp: str = Field(pattern=POLA_NPWP)
    keperluan: str
    kriteria: list[KriteriaHasil]
    tahun_pajak_diperiksa: list[int]
    waktu_konfirmasi: AwareDatetime


# ------------------------------------------------------------------------- SKF


class PermohonanSkf(_Native):
    """Body of ``POST /api/v1/skf``."""

    npwp: str = Field(pattern=POLA_NPWP)
    keperluan: str = Field(min_length=1, max_length=200, description="What the SKF is needed for.")


class HasilSkf(_Native):
    """201 answer: the SKF was issued."""

    status: str = Field(min_length=1)
    nomor_skf: str = Field(min_length=1)
    npwp: str = Field(pattern=POLA_NPWP)
    kode_kpp: str = Field(pattern=POLA_KODE_KPP)
    tanggal_terbit: date
    berlaku_sampai: date
    tahun_pajak_diperiksa: list[int]
    masa_ppn_diperiksa: list[str] = Field(description="VAT periods checked, YYYY-MM.")


# ---------------------------------------------------------------------- errors


class GalatDjp(_Native):
    """Every non-2xx answer of the API (not of the token endpoint) has this shape."""

    status: StatusGalat
    kode: KodeGalat
    pesan: str
    rincian: list[str] | None = Field(default=None, description="Unmet criteria (SKF) or field problems (400).")


# ------------------------------------------------------------------ NPWP badan


class BentukBadan(StrEnum):
    PT = "PT"
    CV = "CV"
    FIRMA = "FIRMA"
    KOPERASI = "KOPERASI"
    YAYASAN = "YAYASAN"
    PERKUMPULAN = "PERKUMPULAN"


class StatusPendaftaran(StrEnum):
    TERDAFTAR = "TERDAFTAR"


class Pengurus(_Native):
    nik: str = Field(pattern=POLA_NIK)
    nama: str = Field(min_length=1, max_length=200)
    jabatan: str = Field(min_length=1, max_length=100)


class PermohonanNpwpBadan(_Native):
    """Body of ``POST /api/v1/wajib-pajak/badan``: register an entity (Coretax)."""

    nama_badan: str = Field(min_length=3, max_length=200)
    bentuk_badan: BentukBadan
    nomor_akta: str = Field(min_length=1, max_length=50)
    tanggal_akta: date
    nomor_sk_ahu: str | None = Field(default=None, min_length=1, max_length=60)
    nib: str | None = Field(default=None, pattern=r"^[0-9]{13}$")
    alamat: str = Field(min_length=5, max_length=300)
    email: str = Field(pattern=POLA_EMAIL, max_length=254)
    nomor_hp: str = Field(pattern=POLA_NOMOR_HP)
    pengurus: list[Pengurus] = Field(min_length=1, max_length=10)
    nik_penanggung_jawab: str = Field(pattern=POLA_NIK, description="Who files: must be one of the pengurus.")


class HasilNpwpBadan(_TandaTerimaKpp):
    """200 answer of an entity's registration."""

    nitku: str = Field(pattern=POLA_NITKU)
    nama_badan: str = Field(min_length=1)
    tanggal_terdaftar: date


__all__ = [
    "HEADER_IDEMPOTENCY_KEY",
    "HEADER_IDEMPOTENT_REPLAYED",
    "KODE_KPP_BUKITTINGGI",
    "NAMA_KPP",
    "PATH_AKTIVASI",
    "PATH_KSWP",
    "PATH_NPWP_BADAN",
    "PATH_SKF",
    "PATH_TOKEN",
    "POLA_NITKU",
    "BentukBadan",
    "GalatDjp",
    "GalatOAuth",
    "HasilAktivasi",
    "HasilKswp",
    "HasilNpwpBadan",
    "HasilSkf",
    "KodeGalat",
    "KodeKriteria",
    "KriteriaHasil",
    "Pengurus",
    "PermohonanAktivasi",
    "PermohonanNpwpBadan",
    "PermohonanSkf",
    "StatusAktivasi",
    "StatusGalat",
    "StatusKswp",
    "StatusPendaftaran",
    "StatusSkf",
    "TokenAkses",
]
