"""BPJS Kesehatan's own ("native") messages: a JKN membership check in the style of
its bridging web services (VClaim, PCare).

BPJS Kesehatan runs the JKN (Jaminan Kesehatan Nasional) membership register. Since
Inpres 1/2022 the police ask applicants for a SIM (Perpol 2/2023, West Sumatra a
pilot Polda from 1 Jul 2024) and an SKCK (Perpol 6/2023) to be active JKN members
[S:JKN-SIM-PILOT][S:JKN-SKCK]. The hub asks BPJS Kesehatan for the status.

The backend is a foreign system to the hub, with the quirks of BPJS Kesehatan's
bridging catalogues [S:BPJS-WS-CATALOG][S:BPJS-PCARE-WS]:

* **Signed headers, no token**: every request carries ``X-cons-id`` (the consumer
  id BPJS issued), ``X-timestamp`` (Unix seconds, UTC) and ``X-signature`` =
  base64(HMAC-SHA256(key=consumer secret, message=``consId&timestamp``)). The
  secret never travels. A timestamp too far from the server's clock is refused
  (the tolerance is [I]).
* **One envelope for everything**: ``{"metaData": {"code": "200", "message": "OK"},
  "response": ...}`` with ``code`` as a *string*. Business outcomes (not registered,
  card of someone else) come with **HTTP 200** and a non-200 ``metaData.code``; the
  adapter must read the envelope, not the HTTP status. Technical failures use real
  HTTP statuses (503, 504, 401...) with the same envelope [I].
* **The caller's reference in the body**: the check is recorded under the caller's
  ``noReferensi`` (like the caller-chosen ``kodebooking`` of BPJS's queue API [I]);
  a repeat with the same body gets the recorded check (``metaData.code`` "200",
  ``response.ulangan`` true), another body under the same reference is refused.

The ``peserta`` part mirrors VClaim's participant answer (``statusPeserta``,
``jenisPeserta``, ``hakKelas``, ``provUmum`` as ``{"kode"|"kdProvider", ...}``
pairs) [S:BPJS-VCLAIM-PESERTA]; its codes here are the simulator's [I].

This module is the wire format only; it imports nothing from ``hub`` or ``schemas``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

#: Record one membership check (the body names the caller's reference).
PATH_PENGECEKAN: Final[str] = "/jkn-layanan-publik/v1/kepesertaan/pengecekan"

HEADER_CONS_ID: Final[str] = "X-cons-id"
HEADER_TIMESTAMP: Final[str] = "X-timestamp"
HEADER_SIGNATURE: Final[str] = "X-signature"

POLA_NIK: Final[str] = r"^[0-9]{16}$"
#: JKN card number (nomor kartu, noKartu): 13 digits [S:BPJS-VCLAIM-PESERTA].
POLA_NO_KARTU: Final[str] = r"^[0-9]{13}$"
#: The caller's reference: printable, no spaces, up to 64 characters [I].
POLA_NO_REFERENSI: Final[str] = r"^[A-Za-z0-9._:-]{1,64}$"
#: FKTP (primary care) provider code: 4 digits, a letter, 3 digits, e.g. ``0138U020`` [S:BPJS-VCLAIM-PESERTA].
POLA_KODE_FASKES: Final[str] = r"^[0-9]{4}[A-Z][0-9]{3}$"


#: ``waktuPengecekan``: local time at BPJS (WIB, UTC+7), written without an offset.
FORMAT_WAKTU: Final[str] = "%Y-%m-%d %H:%M:%S"
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")


def waktu_wib(text: str) -> datetime:
    """A ``waktuPengecekan`` as an aware datetime; raises ValueError for another shape."""
    return datetime.strptime(text, FORMAT_WAKTU).replace(tzinfo=WIB)


def tanda_tangan(cons_id: str, timestamp: str, secret: str) -> str:
    """``X-signature``: base64(HMAC-SHA256(secret, "consId&timestamp"))."""
    digest = hmac.new(secret.encode("utf-8"), f"{cons_id}&{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class KodeMeta(StrEnum):
    """``metaData.code`` values (strings on the wire)."""

    OK = "200"
    PESERTA_TIDAK_DITEMUKAN = "201"  # HTTP 200: the NIK is not in the JKN register
    NO_KARTU_TIDAK_SESUAI = "202"  # HTTP 200: the card number belongs to someone else
    DATA_TIDAK_VALID = "400"  # HTTP 400: the body is not the protocol
    SIGNATURE_TIDAK_VALID = "401"  # HTTP 401: unknown cons-id, bad signature or timestamp
    REFERENSI_BENTROK = "409"  # HTTP 409: noReferensi reused with another body
    KUOTA_HABIS = "429"  # HTTP 429: the day's checks are used up
    GALAT_INTERNAL = "500"
    LAYANAN_TIDAK_TERSEDIA = "503"  # HTTP 503: down, or busy (then with Retry-After)
    WAKTU_HABIS = "504"  # HTTP 504: the answer was lost (the check was recorded)
    TIDAK_DITEMUKAN = "404"  # unknown path
    METODE_TIDAK_DIIZINKAN = "405"


class KodeStatusPeserta(StrEnum):
    """``statusPeserta.kode``: 0 active, anything else a reason for being inactive [I]."""

    AKTIF = "0"
    TIDAK_AKTIF_TUNGGAKAN = "1"  # PBPU / BP contributions in arrears
    TIDAK_AKTIF_PBI_DINONAKTIFKAN = "2"  # removed from the PBI list
    TIDAK_AKTIF_PHK = "3"  # PPU: employment ended, employer stopped paying


class KodeJenisPeserta(StrEnum):
    """``jenisPeserta.kode``: the membership segment (Perpres 82/2018 art. 1) [V:PERPRES-82-2018]. VClaim's own
    codes are numbers per member type ("13" private employee, "21" PBI APBN)
    [S:BPJS-VCLAIM-PESERTA]; this service names the segment instead [I]."""

    PBI_APBN = "PBI_APBN"  # contribution paid by the central budget
    PBI_APBD = "PBI_APBD"  # paid by the regional budget
    PPU = "PPU"  # wage earners (Pekerja Penerima Upah)
    PBPU = "PBPU"  # non-wage earners, self-paying (Pekerja Bukan Penerima Upah)
    BP = "BP"  # non-workers, e.g. pensioners (Bukan Pekerja)


class _Native(BaseModel):
    # Unknown fields are refused: a changed wire format must not pass unnoticed.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PermintaanPengecekan(_Native):
    """Body of ``POST PATH_PENGECEKAN``."""

    no_referensi: str = Field(alias="noReferensi", pattern=POLA_NO_REFERENSI)
    nik: str = Field(pattern=POLA_NIK)
    no_kartu: str | None = Field(default=None, alias="noKartu", pattern=POLA_NO_KARTU)
    keperluan: str = Field(min_length=1, max_length=200, description="The public service asking (SKCK, SIM...).")
    tgl_pelayanan: date = Field(alias="tglPelayanan", description="The service day the status is asked for (yyyy-MM-dd).")


class Kode(_Native):
    kode: str = Field(min_length=1, max_length=40)
    keterangan: str = Field(max_length=200)


class Faskes(_Native):
    kd_provider: str = Field(alias="kdProvider", min_length=1, max_length=20)
    nm_provider: str = Field(alias="nmProvider", min_length=1, max_length=200)


class Peserta(_Native):
    """What BPJS says about the member (no name, no birth date: the hub does not need them)."""

    no_kartu: str = Field(alias="noKartu", pattern=POLA_NO_KARTU)
    nik: str = Field(pattern=POLA_NIK)
    status_peserta: Kode = Field(alias="statusPeserta")
    jenis_peserta: Kode = Field(alias="jenisPeserta")
    hak_kelas: Kode | None = Field(default=None, alias="hakKelas", description="Inpatient class 1-3, absent when not set.")
    prov_umum: Faskes = Field(alias="provUmum", description="The member's FKTP (primary care facility).")
    tgl_tmt: date = Field(alias="tglTMT", description="Membership start.")


class HasilPengecekan(_Native):
    """``response`` of a successful check."""

    no_pengecekan: str = Field(alias="noPengecekan", min_length=1, max_length=40)
    no_referensi: str = Field(alias="noReferensi", pattern=POLA_NO_REFERENSI)
    waktu_pengecekan: str = Field(alias="waktuPengecekan", description="yyyy-MM-dd HH:mm:ss, WIB.")
    ulangan: bool = Field(default=False, description="True when a recorded check is answered again.")
    peserta: Peserta


class MetaData(_Native):
    code: str = Field(min_length=1, max_length=10)
    message: str = Field(max_length=2000)


class Amplop(BaseModel):
    """Every answer: ``metaData`` and, on success, ``response``. Open (``extra``
    ignored) like BPJS's own clients treat it."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    meta_data: MetaData = Field(alias="metaData")
    response: object | None = None


__all__ = [
    "FORMAT_WAKTU",
    "HEADER_CONS_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "PATH_PENGECEKAN",
    "WIB",
    "Amplop",
    "Faskes",
    "HasilPengecekan",
    "Kode",
    "KodeJenisPeserta",
    "KodeMeta",
    "KodeStatusPeserta",
    "MetaData",
    "PermintaanPengecekan",
    "Peserta",
    "tanda_tangan",
    "waktu_wib",
]
