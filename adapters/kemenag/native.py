"""SIMKAH's own ("native") form-encoded messages, as the KUA's backend speaks them.

SIMKAH (Sistem Informasi Manajemen Nikah) is Kemenag's marriage registration system,
used by the KUA (Kantor Urusan Agama) in each district. The backend imitated here is
an older PHP application: it takes ``application/x-www-form-urlencoded`` POSTs to
``.php`` scripts and answers with a form-encoded body as well::

    status=BERHASIL&no_pendaftaran=DFT%2F137501%2F2026%2F00001&biaya=0&...
    status=GAGAL&kode=KUA_TIDAK_DIKENAL&pesan=Kode+KUA+tidak+dikenal.

When it is down, the web server in front of it serves an HTML maintenance page
("Sedang dalam pemeliharaan") instead. Dates are ``dd-mm-yyyy``, times ``HH:MM``
(WIB), amounts whole rupiah; every field value is text.

On purpose this module imports nothing from ``hub`` or ``schemas``: it imitates a
system we do not control. The simulator validates requests with these models and
produces answers with them; the adapter builds requests and reads answers with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints

#: Registration of a marriage (pendaftaran nikah).
PATH_PENDAFTARAN: Final[str] = "/simkah/pendaftaran.php"

#: Duplicate of a marriage book (duplikat buku nikah).
PATH_DUPLIKAT: Final[str] = "/simkah/duplikat.php"

#: Recommendation to marry in another district (rekomendasi nikah / numpang nikah).
PATH_REKOMENDASI: Final[str] = "/simkah/rekomendasi.php"

#: Content type of requests and answers.
FORM: Final[str] = "application/x-www-form-urlencoded"

#: Text of the maintenance page the proxy serves when SIMKAH is down.
TEKS_PEMELIHARAAN: Final[str] = "Sedang dalam pemeliharaan"

#: NIK: exactly 16 digits.
POLA_NIK: Final[str] = r"^[0-9]{16}$"

#: Kode KUA: the 6-digit Kemendagri code of the district the KUA serves.
POLA_KODE_KUA: Final[str] = r"^[0-9]{6}$"

#: Akta nikah number: seq/KUA-code/month (roman)/year.
POLA_AKTA: Final[str] = r"^[0-9]{1,5}/[0-9]{6}/(I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)/[0-9]{4}$"

#: PNBP billing code (SIMPONI): 15 digits starting with 7, 8 or 9 [V:SIMPONI].
POLA_KODE_BILLING: Final[str] = r"^[789][0-9]{14}$"

#: Longest id_transaksi accepted; the hub's step ids are 36 characters.
MAX_ID_TRANSAKSI: Final[int] = 64


# ------------------------------------------------------------------ wire helpers


class FormatTidakValid(ValueError):
    """A body that is not a well-formed ``key=value&...`` form."""


def encode_form(fields: Mapping[str, Any]) -> str:
    """Encode fields the way SIMKAH does; ``None`` values are left out."""
    return urlencode([(k, str(v)) for k, v in fields.items() if v is not None])


def decode_form(body: str | bytes) -> dict[str, str]:
    """Strictly decode a form body: every part must be ``key=value`` and no key may repeat.

    Strictness matters on both sides: a repeated key or a stray line of text (a PHP
    warning, an HTML page) means the body is not SIMKAH's protocol, and guessing
    which value was meant would hide the problem.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatTidakValid("body is not UTF-8") from exc
    body = body.strip()
    if not body:
        raise FormatTidakValid("empty body")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise FormatTidakValid(f"not a form body: {exc}") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if not key or not key.isascii() or not key.replace("_", "").isalnum():
            raise FormatTidakValid(f"bad field name {key[:30]!r}")
        if key in fields:
            raise FormatTidakValid(f"field {key!r} appears twice")
        fields[key] = value
    return fields


def format_tanggal(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def _dibaca(fmt: str, part: Callable[[datetime], date | time], message: str) -> BeforeValidator:
    """Form text in ``fmt`` to a date or time (``part`` of the parsed moment); values that
    are already one pass through, text in another format is refused with ``message``."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return part(datetime.strptime(value, fmt))
            except ValueError as exc:
                raise ValueError(message) from exc
        return value

    return BeforeValidator(parse)


def _kosong_jadi_none(value: Any) -> Any:
    """Legacy forms send empty strings for empty fields: treat them as absent."""
    return None if isinstance(value, str) and not value.strip() else value


Tanggal = Annotated[date, _dibaca("%d-%m-%Y", datetime.date, "tanggal harus dd-mm-yyyy"), PlainSerializer(format_tanggal, return_type=str)]
Jam = Annotated[time, _dibaca("%H:%M", datetime.time, "jam harus HH:MM"), PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]
Teks = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TeksOpsional = Annotated[Teks | None, BeforeValidator(_kosong_jadi_none)]
Nik = Annotated[str, StringConstraints(pattern=POLA_NIK)]


# ------------------------------------------------------------------ enumerations


class TempatAkad(StrEnum):
    KUA = "KUA"  # at the KUA in office hours: Rp0
    LUAR_KUA = "LUAR_KUA"  # outside the KUA or after hours: Rp600,000


class StatusKawin(StrEnum):
    BELUM_KAWIN = "BELUM_KAWIN"
    CERAI_HIDUP = "CERAI_HIDUP"  # divorced
    CERAI_MATI = "CERAI_MATI"  # widowed


class AlasanDuplikat(StrEnum):
    HILANG = "HILANG"  # lost: police loss report required
    RUSAK = "RUSAK"  # damaged


class StatusJawaban(StrEnum):
    BERHASIL = "BERHASIL"
    GAGAL = "GAGAL"


class KodeGagal(StrEnum):
    """SIMKAH's refusal codes (``kode``), with the HTTP status each comes with."""

    ID_TRANSAKSI_WAJIB = "ID_TRANSAKSI_WAJIB"  # 400: id_transaksi missing or unusable
    FORMAT_TIDAK_VALID = "FORMAT_TIDAK_VALID"  # 400: body is not a form / wrong content type
    DATA_TIDAK_LENGKAP = "DATA_TIDAK_LENGKAP"  # 400: a required field is missing
    DATA_TIDAK_VALID = "DATA_TIDAK_VALID"  # 400: a field is malformed (or tgl_lahir disagrees with the NIK)
    ID_TRANSAKSI_GANDA = "ID_TRANSAKSI_GANDA"  # 200: id_transaksi already used for other data
    KUA_TIDAK_DIKENAL = "KUA_TIDAK_DIKENAL"  # 200: unknown kode_kua
    PEMOHON_BUKAN_CATIN = "PEMOHON_BUKAN_CATIN"  # 200: nik_pemohon is neither groom nor bride
    TANGGAL_AKAD_LEWAT = "TANGGAL_AKAD_LEWAT"  # 200: ceremony date already past
    PEMBERITAHUAN_KURANG_10_HARI = "PEMBERITAHUAN_KURANG_10_HARI"  # 200: < 10 working days, no camat dispensation
    DI_LUAR_JAM_KERJA = "DI_LUAR_JAM_KERJA"  # 200: tempat KUA but not a working day / office hours
    USIA_DI_BAWAH_MINIMUM = "USIA_DI_BAWAH_MINIMUM"  # 200: under 19 without court dispensation
    IZIN_ORANG_TUA_WAJIB = "IZIN_ORANG_TUA_WAJIB"  # 200: under 21 without N5
    DOKUMEN_PERKAWINAN_LALU_WAJIB = "DOKUMEN_PERKAWINAN_LALU_WAJIB"  # 200: divorced/widowed without document
    AKTA_TIDAK_DITEMUKAN = "AKTA_TIDAK_DITEMUKAN"  # 200: no such marriage record
    SURAT_KEHILANGAN_WAJIB = "SURAT_KEHILANGAN_WAJIB"  # 200: lost book without police report
    KUA_TUJUAN_SAMA = "KUA_TUJUAN_SAMA"  # 200: recommendation to one's own KUA (none needed)
    DOMISILI_TIDAK_SESUAI = "DOMISILI_TIDAK_SESUAI"  # 200: the applicant's NIK is not of the issuing KUA's district
    KUOTA_HARIAN_PENUH = "KUOTA_HARIAN_PENUH"  # 200: daily quota of registrations reached
    SISTEM_SIBUK = "SISTEM_SIBUK"  # 503: overloaded, try again (Retry-After)


# ---------------------------------------------------------------------- requests


class _Form(BaseModel):
    # Unknown fields are refused: a silently ignored field would hide a mapping bug.
    model_config = ConfigDict(extra="forbid", frozen=True)

    id_transaksi: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_TRANSAKSI, pattern=r"^[\x21-\x7e]+$")] = Field(
        description="Caller's idempotency key (the hub passes its step id): applied at most once."
    )

    def to_form(self) -> str:
        return encode_form(self.model_dump(mode="json", exclude_none=True))


class FormPendaftaran(_Form):
    """``POST /simkah/pendaftaran.php``: register a marriage at a KUA."""

    nik_pemohon: Nik = Field(description="Who registers: must be nik_suami or nik_istri.")
    nik_suami: Nik
    nama_suami: Teks
    tgl_lahir_suami: Tanggal
    status_kawin_suami: StatusKawin = StatusKawin.BELUM_KAWIN
    no_dok_kawin_lalu_suami: TeksOpsional = None
    no_n5_suami: TeksOpsional = None
    nik_istri: Nik
    nama_istri: Teks
    tgl_lahir_istri: Tanggal
    status_kawin_istri: StatusKawin = StatusKawin.BELUM_KAWIN
    no_dok_kawin_lalu_istri: TeksOpsional = None
    no_n5_istri: TeksOpsional = None
    tgl_akad: Tanggal
    jam_akad: Annotated[Jam | None, BeforeValidator(_kosong_jadi_none)] = None
    tempat_akad: TempatAkad
    alamat_akad: Annotated[Annotated[str, StringConstraints(max_length=500)] | None, BeforeValidator(_kosong_jadi_none)] = None
    kode_kua: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    no_n1: Teks
    no_dispensasi: TeksOpsional = Field(default=None, description="Religious-court marriage dispensation (under 19).")
    no_dispensasi_camat: TeksOpsional = Field(default=None, description="Sub-district head's dispensation (short notice).")


class FormDuplikat(_Form):
    """``POST /simkah/duplikat.php``: issue a duplicate marriage book."""

    nik_pemohon: Nik
    nama_pemohon: Teks
    no_akta_nikah: Annotated[str, StringConstraints(pattern=POLA_AKTA)]
    alasan: AlasanDuplikat
    no_surat_kehilangan: TeksOpsional = None


class FormRekomendasi(_Form):
    """``POST /simkah/rekomendasi.php``: the home KUA recommends the applicant to another KUA."""

    nik_pemohon: Nik
    nama_pemohon: Teks
    status_kawin: StatusKawin = StatusKawin.BELUM_KAWIN
    no_dok_kawin_lalu: TeksOpsional = None
    nama_calon_pasangan: Teks
    kode_kua_asal: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    kode_kua_tujuan: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    tgl_akad: Tanggal
    no_n1: Teks


# ----------------------------------------------------------------------- answers


class _Jawaban(BaseModel):
    # Extra fields in answers are ignored: SIMKAH adds informational fields between
    # versions [I], and a new field must not fail citizens' cases.
    model_config = ConfigDict(extra="ignore", frozen=True)


class JawabanPendaftaran(_Jawaban):
    """Success answer of pendaftaran.php."""

    status: Literal["BERHASIL"] = "BERHASIL"
    no_pendaftaran: Teks
    tgl_daftar: Tanggal
    kode_kua: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    nama_kua: Teks
    tgl_akad: Tanggal
    jam_akad: Jam
    tempat_akad: TempatAkad
    biaya: int = Field(ge=0, description="Whole rupiah.")
    kode_billing: Annotated[Annotated[str, StringConstraints(pattern=POLA_KODE_BILLING)] | None, BeforeValidator(_kosong_jadi_none)] = None
    wajib_bimwin: Literal["YA", "TIDAK"]
    tgl_bimwin: Annotated[Tanggal | None, BeforeValidator(_kosong_jadi_none)] = None


class JawabanDuplikat(_Jawaban):
    """Success answer of duplikat.php."""

    status: Literal["BERHASIL"] = "BERHASIL"
    no_duplikat: Teks
    no_akta_nikah: Annotated[str, StringConstraints(pattern=POLA_AKTA)]
    kode_kua: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    tgl_terbit: Tanggal


class JawabanRekomendasi(_Jawaban):
    """Success answer of rekomendasi.php."""

    status: Literal["BERHASIL"] = "BERHASIL"
    no_rekomendasi: Teks
    tgl_terbit: Tanggal
    kode_kua_asal: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    nama_kua_asal: Teks
    kode_kua_tujuan: Annotated[str, StringConstraints(pattern=POLA_KODE_KUA)]
    tgl_akad: Tanggal


class JawabanGagal(_Jawaban):
    """Every refusal, whatever the script and HTTP status."""

    status: Literal["GAGAL"] = "GAGAL"
    kode: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    pesan: str = ""


__all__ = [
    "FORM",
    "PATH_DUPLIKAT",
    "PATH_PENDAFTARAN",
    "PATH_REKOMENDASI",
    "TEKS_PEMELIHARAAN",
    "AlasanDuplikat",
    "FormDuplikat",
    "FormPendaftaran",
    "FormRekomendasi",
    "FormatTidakValid",
    "JawabanDuplikat",
    "JawabanGagal",
    "JawabanPendaftaran",
    "JawabanRekomendasi",
    "KodeGagal",
    "StatusJawaban",
    "StatusKawin",
    "TempatAkad",
    "decode_form",
    "encode_form",
    "format_tanggal",
]
