"""OSS-RBA's own ("native") messages: the NIB registration API the DPMPTSP counter uses.

OSS-RBA (Online Single Submission Risk-Based Approach) is run by the Ministry of
Investment/BKPM. Its published integration guide (Pedoman Integrasi Aplikasi, PIA
[S:OSS-PIA]) shows the house style this module follows: JSON over HTTP, a
``user_key`` header on every call, Indonesian snake_case field names (``nama_usaha``,
``kbli``, ``skala_usaha``, ``kd_daerah``...), the skala usaha codes ``01``-``04``
(Lampiran 31), response codes 200/400/401/403/404/405/500/504 (Lampiran 9), regions
coded the Kemendagri way. The endpoints and the token exchange below are this
project's model of a counter-facing API [I]: the PIA documents OSS <-> ministry
exchanges, not a counter registering a NIB.

This module is the wire format only; it imports nothing from ``hub`` or ``schemas``.

Protocol
========

Every call carries the header ``user_key`` (the key OSS issued to the MPP hub).

``POST /oss/api/v1/auth/token`` -- an access token for the counter's OSS account
    body :class:`PermintaanToken` (``username``, ``password``); answer ``200``
    ``{"status": 200, "message": "Sukses", "data":`` :class:`TokenAkses` ``}``. A wrong
    account is ``401 KREDENSIAL_SALAH``.
``POST /oss/api/v1/nib/umk`` -- register a micro/small individual business
    header ``Authorization: Bearer <access_token>`` (missing, unknown or expired:
    ``401 TOKEN_TIDAK_VALID``); body :class:`PermohonanNib`, whose
    ``nomor_referensi`` (the hub's step id) makes the call idempotent: the same
    reference with the same body is answered with the stored NIB (header
    ``X-Replayed: true``), with another body ``409 REFERENSI_BENTROK``; answer ``201``
    ``{"status": 201, "message": ..., "data":`` :class:`DataNib` ``}``.

Every error: :class:`BalasanGalat` ``{"status": <HTTP status>, "message", "data": null,
"kode", "rincian"}``.

The NIB is issued at once whatever the risk level; the risk level
(``skala_resiko``: R, MR, MT, T) says what else the business needs
(``status_perizinan``) [S:PP28-RINGKASAN].
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

PATH_TOKEN: Final[str] = "/oss/api/v1/auth/token"
PATH_NIB_UMK: Final[str] = "/oss/api/v1/nib/umk"

HEADER_USER_KEY: Final[str] = "user_key"
HEADER_REPLAYED: Final[str] = "X-Replayed"

POLA_NIK: Final[str] = r"^[0-9]{16}$"
#: NIB: 13 digits [S:NIB-13].
POLA_NIB: Final[str] = r"^[0-9]{13}$"
#: KBLI 2020: 5 digits [V:PERBPS-2-2020].
POLA_KBLI: Final[str] = r"^[0-9]{5}$"
#: Regency/city code (Kemendagri), without the dot: 4 digits, e.g. 1375 Bukittinggi.
POLA_KD_DAERAH: Final[str] = r"^[0-9]{4}$"


class JenisPelakuUsaha(StrEnum):
    """PIA Lampiran 18; this endpoint takes individuals only."""

    PERSEORANGAN = "02"


class SkalaUsaha(StrEnum):
    """PIA Lampiran 31; this endpoint takes micro and small businesses only."""

    MIKRO = "01"
    KECIL = "02"


#: Largest capital (rupiah, land and buildings excluded) per scale [V:PP-7-2021] art. 35(3).
MODAL_MAKSIMUM: Final[dict[SkalaUsaha, int]] = {SkalaUsaha.MIKRO: 1_000_000_000, SkalaUsaha.KECIL: 5_000_000_000}


class SkalaResiko(StrEnum):
    RENDAH = "R"
    MENENGAH_RENDAH = "MR"
    MENENGAH_TINGGI = "MT"
    TINGGI = "T"


class StatusPerizinan(StrEnum):
    """What the NIB is worth, by risk level [S:PP28-RINGKASAN]."""

    NIB_BERLAKU_SEBAGAI_IZIN = "NIB_BERLAKU_SEBAGAI_IZIN"  # R: the NIB is the licence
    WAJIB_SERTIFIKAT_STANDAR = "WAJIB_SERTIFIKAT_STANDAR"  # MR: standard certificate (self-declaration)
    WAJIB_SERTIFIKAT_STANDAR_TERVERIFIKASI = "WAJIB_SERTIFIKAT_STANDAR_TERVERIFIKASI"  # MT: verified before operating
    WAJIB_IZIN = "WAJIB_IZIN"  # T: a permit before operating


#: The one licensing status each risk level gets.
STATUS_UNTUK_RESIKO: Final[dict[SkalaResiko, StatusPerizinan]] = {
    SkalaResiko.RENDAH: StatusPerizinan.NIB_BERLAKU_SEBAGAI_IZIN,
    SkalaResiko.MENENGAH_RENDAH: StatusPerizinan.WAJIB_SERTIFIKAT_STANDAR,
    SkalaResiko.MENENGAH_TINGGI: StatusPerizinan.WAJIB_SERTIFIKAT_STANDAR_TERVERIFIKASI,
    SkalaResiko.TINGGI: StatusPerizinan.WAJIB_IZIN,
}


class KodeGalat(StrEnum):
    """Error codes (``kode``), each with its HTTP status."""

    USER_KEY_TIDAK_VALID = "USER_KEY_TIDAK_VALID"  # 401: user_key missing or wrong
    KREDENSIAL_SALAH = "KREDENSIAL_SALAH"  # 401: token request with a wrong account
    TOKEN_TIDAK_VALID = "TOKEN_TIDAK_VALID"  # 401: bearer token missing, unknown or expired
    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 400: "Data Parameter Salah" (PIA Lampiran 9)
    KBLI_TIDAK_DITEMUKAN = "KBLI_TIDAK_DITEMUKAN"  # 422: not a KBLI 2020 code OSS knows
    SKALA_USAHA_TIDAK_SESUAI = "SKALA_USAHA_TIDAK_SESUAI"  # 422: capital does not fit the declared scale
    REFERENSI_BENTROK = "REFERENSI_BENTROK"  # 409: nomor_referensi reused with another body
    KUOTA_HABIS = "KUOTA_HABIS"  # 429: the day's registrations are used up
    SISTEM_SIBUK = "SISTEM_SIBUK"  # 503 + Retry-After: overloaded, nothing applied
    LAYANAN_TIDAK_TERSEDIA = "LAYANAN_TIDAK_TERSEDIA"  # 503: down / maintenance
    WAKTU_HABIS = "WAKTU_HABIS"  # 504: "Proses Payload Data Di Sistem OSS Timeout" (maybe applied)
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404
    METODE_TIDAK_DIIZINKAN = "METODE_TIDAK_DIIZINKAN"  # 405
    GALAT_INTERNAL = "GALAT_INTERNAL"  # 500


class _Native(BaseModel):
    # OSS validates strictly: an unknown field is refused, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PermintaanToken(_Native):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class TokenAkses(_Native):
    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(gt=0, description="Seconds.")


class PermohonanNib(_Native):
    """Body of ``POST /oss/api/v1/nib/umk``."""

    nomor_referensi: str = Field(min_length=1, max_length=64, description="The caller's unique reference; the same one is applied once.")
    jenis_pelaku_usaha: JenisPelakuUsaha = JenisPelakuUsaha.PERSEORANGAN
    nik_penanggung_jwb: str = Field(pattern=POLA_NIK)
    nama_penanggung_jwb: str = Field(min_length=1, max_length=200)
    nama_usaha: str = Field(min_length=1, max_length=255)
    kbli: str = Field(pattern=POLA_KBLI)
    skala_usaha: SkalaUsaha
    kd_daerah: str = Field(pattern=POLA_KD_DAERAH)
    modal_usaha: int = Field(ge=0, description="Rupiah, land and buildings excluded.")


class DataNib(_Native):
    """``data`` of the 201 answer: the NIB issued."""

    nomor_referensi: str
    nib: str = Field(pattern=POLA_NIB)
    tgl_terbit_nib: date
    kbli: str = Field(pattern=POLA_KBLI)
    judul_kbli: str
    skala_resiko: str = Field(description="A SkalaResiko code; text so a new one is recognised as unknown.")
    status_perizinan: str = Field(description="A StatusPerizinan value; text for the same reason.")
    keterangan: str = Field(min_length=1, max_length=1000)


class BalasanSukses(_Native):
    status: Literal[200, 201]
    message: str
    data: dict[str, object]


class BalasanGalat(_Native):
    status: int = Field(ge=400, le=599)
    message: str
    data: None = None
    kode: KodeGalat
    rincian: list[str] | None = Field(default=None, description="Field-level problems (400 DATA_TIDAK_VALID only).")


__all__ = [
    "HEADER_REPLAYED",
    "HEADER_USER_KEY",
    "MODAL_MAKSIMUM",
    "PATH_NIB_UMK",
    "PATH_TOKEN",
    "STATUS_UNTUK_RESIKO",
    "BalasanGalat",
    "BalasanSukses",
    "DataNib",
    "JenisPelakuUsaha",
    "KodeGalat",
    "PermintaanToken",
    "PermohonanNib",
    "SkalaResiko",
    "SkalaUsaha",
    "StatusPerizinan",
    "TokenAkses",
]
