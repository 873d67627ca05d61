"""Dukcapil's own ("native") REST/JSON messages, as its NIK web service speaks them.

Dukcapil (Direktorat Jenderal Kependudukan dan Pencatatan Sipil, Kemendagri) keeps the
population register and owns the NIK. Institutions that have signed a cooperation
agreement (PKS) with it -- ministries, local governments, public-service bodies, banks
-- may *verify* data they already hold against the register; the answer is "sesuai /
tidak sesuai" (matches / does not match) per element, not a copy of the record
("zero data sharing policy") [S:kompas.com 2022-06-29, tribunnews.com 2022-04-17].

The shape below is how this project imagines that web service (the real one is not
public): JSON with Indonesian field names, an API key per institution, the caller's
``X-Request-Id`` as an idempotency key, dates written ``DD-MM-YYYY`` and timestamps as
local WIB wall-clock time without an offset -- the kinds of details an adapter exists to
translate.

On purpose this module imports nothing from ``hub`` or ``schemas``: it imitates a
system we do not control, so it must not be shaped by our own contract.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The NIK verification operation.
PATH_VERIFIKASI: Final[str] = "/api/v1/kependudukan/verifikasi-nik"

#: Header with the institution's API key (issued under the PKS).
HEADER_API_KEY: Final[str] = "X-Api-Key"

#: Header with the caller's request id: Dukcapil's idempotency key (the hub sends its step id).
HEADER_REQUEST_ID: Final[str] = "X-Request-Id"

#: Set to ``true`` on a stored answer replayed for a repeated ``X-Request-Id``.
HEADER_REPLAY: Final[str] = "X-Idempotent-Replay"

#: NIK as Dukcapil accepts it: exactly 16 digits, no separators.
POLA_NIK: Final[str] = r"^[0-9]{16}$"

#: Dates are written day first, as on the KTP: ``12-03-1990``.
POLA_TANGGAL: Final[str] = r"^[0-9]{2}-[0-9]{2}-[0-9]{4}$"
FORMAT_TANGGAL: Final[str] = "%d-%m-%Y"

#: Timestamps are WIB wall-clock time without an offset: ``2026-01-14 09:30:00``.
POLA_WAKTU: Final[str] = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
FORMAT_WAKTU: Final[str] = "%Y-%m-%d %H:%M:%S"

#: Western Indonesia Time (UTC+7, no DST): the clock of Dukcapil's data centre and of Sumbar.
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")


class StatusData(StrEnum):
    """State of a population record (``status_data``)."""

    AKTIF = "AKTIF"  # a living resident with a valid record
    DIBLOKIR = "DIBLOKIR"  # record blocked (e.g. duplicate NIK under cleansing): no verification
    MENINGGAL = "MENINGGAL"  # death registered: the NIK may not be used for new services


class HasilPadanan(StrEnum):
    """Result of comparing one data element with the register."""

    SESUAI = "SESUAI"  # matches
    TIDAK_SESUAI = "TIDAK_SESUAI"  # does not match
    TIDAK_DIPERIKSA = "TIDAK_DIPERIKSA"  # not compared (the caller did not send it)


class KodeGalat(StrEnum):
    """Dukcapil's error codes (``kode``), with the HTTP status each comes with."""

    API_KEY_TIDAK_VALID = "API_KEY_TIDAK_VALID"  # 401: missing or wrong X-Api-Key
    REQUEST_ID_WAJIB = "REQUEST_ID_WAJIB"  # 400: X-Request-Id missing or malformed
    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 422: malformed body
    NIK_TIDAK_TERDAFTAR = "NIK_TIDAK_TERDAFTAR"  # 404: no record with this NIK
    REQUEST_ID_SUDAH_DIPAKAI = "REQUEST_ID_SUDAH_DIPAKAI"  # 409: request id reused with another body
    KUOTA_AKSES_HABIS = "KUOTA_AKSES_HABIS"  # 429: the institution's daily access quota is used up
    LAYANAN_SIBUK = "LAYANAN_SIBUK"  # 503: overloaded, retry (Retry-After)
    LAYANAN_TIDAK_TERSEDIA = "LAYANAN_TIDAK_TERSEDIA"  # 503: down / maintenance
    WAKTU_HABIS = "WAKTU_HABIS"  # 504: reply lost after the verification was logged
    TIDAK_DITEMUKAN = "TIDAK_DITEMUKAN"  # 404: unknown path
    GALAT_INTERNAL = "GALAT_INTERNAL"  # anything else


class _Native(BaseModel):
    # Dukcapil validates strictly: an unknown field is refused (422), not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PermintaanVerifikasi(_Native):
    """Body of ``POST /api/v1/kependudukan/verifikasi-nik``. Unknown fields are refused (422)."""

    nik: str = Field(pattern=POLA_NIK, description="NIK of the person to verify.")
    nama_lengkap: str = Field(min_length=1, max_length=100, description="Full name as the caller knows it.")
    tgl_lahir: str | None = Field(default=None, pattern=POLA_TANGGAL, description="Birth date DD-MM-YYYY; optional.")


class DataVerifikasi(_Native):
    """What the register says about the NIK.

    For a record that is not ``AKTIF`` Dukcapil discloses nothing but its status, so
    every other field may be null. ``status_data`` is a plain string on the wire (the
    adapter, not the parser, decides what an unknown status means).
    """

    nik: str = Field(pattern=POLA_NIK)
    status_data: str = Field(min_length=1, description="AKTIF | DIBLOKIR | MENINGGAL.")
    hasil_nama: HasilPadanan | None = None
    skor_nama: int | None = Field(default=None, ge=0, le=100, description="Name similarity, 0-100.")
    hasil_tgl_lahir: HasilPadanan | None = None
    no_kk: str | None = Field(default=None, pattern=POLA_NIK, description="Family card (KK) number, 16 digits.")
    no_prop: int | None = Field(default=None, ge=11, le=99, description="Province of domicile, e.g. 13.")
    no_kab: int | None = Field(default=None, ge=1, le=99, description="Regency/city within it, e.g. 75.")
    no_kec: int | None = Field(default=None, ge=1, le=99, description="District within it, e.g. 1.")


class JawabanVerifikasi(_Native):
    """Success (HTTP 200) reply."""

    respon: Literal["SUKSES"] = "SUKSES"
    id_transaksi: str = Field(min_length=1, max_length=100, description="Dukcapil's access-log number.")
    waktu_verifikasi: str = Field(pattern=POLA_WAKTU, description="WIB wall-clock time, no offset.")
    data: DataVerifikasi


class GalatDukcapil(_Native):
    """Every error reply has this shape, whatever the HTTP status."""

    respon: Literal["GAGAL"] = "GAGAL"
    kode: KodeGalat
    pesan: str = Field(description="Human-readable message, in Indonesian.")
    rincian: list[str] | None = Field(default=None, description="Field-level problems; only with DATA_TIDAK_VALID.")


def tulis_waktu(moment: datetime) -> str:
    """An aware datetime as Dukcapil writes it (WIB wall clock, no offset)."""
    return moment.astimezone(WIB).strftime(FORMAT_WAKTU)


def baca_waktu(text: str) -> datetime:
    """Dukcapil's offset-less WIB timestamp as an aware datetime (``ValueError`` if malformed)."""
    return datetime.strptime(text, FORMAT_WAKTU).replace(tzinfo=WIB)


__all__ = [
    "FORMAT_TANGGAL",
    "FORMAT_WAKTU",
    "HEADER_API_KEY",
    "HEADER_REPLAY",
    "HEADER_REQUEST_ID",
    "PATH_VERIFIKASI",
    "POLA_NIK",
    "POLA_TANGGAL",
    "POLA_WAKTU",
    "WIB",
    "DataVerifikasi",
    "GalatDukcapil",
    "HasilPadanan",
    "JawabanVerifikasi",
    "KodeGalat",
    "PermintaanVerifikasi",
    "StatusData",
    "baca_waktu",
    "tulis_waktu",
]
