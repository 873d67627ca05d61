"""Indonesian identifiers used across the hub: NIK, NPWP, vehicle plates, PNBP billing codes.

Each identifier is an ``Annotated[str, ...]`` pydantic type, so models just declare
``nik: Nik`` and get validation plus normalisation. Invalid input is rejected with a
:class:`~pydantic_core.PydanticCustomError` whose ``type`` (``nik_invalid``,
``plate_invalid``, ...) and ``ctx["reason"]`` are stable, so API error bodies are
machine readable and the portal can show a precise hint. NIK messages name the wrong
field by its position and never repeat any of its digits: the birth date, region and
serial in a NIK are personal data (see :func:`mask_nik`).

Formats and their sources: docs/domain-sources.md ("Identifiers"). This module depends
only on the standard library and pydantic (``schemas`` imports nothing from ``hub`` or
``adapters``).
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "BILLING_CODE_LENGTH",
    "BILLING_CODE_PREFIXES",
    "NIK_LENGTH",
    "PLATE_REGIONS",
    "PROVINCES",
    "BillingCode",
    "Nik",
    "NikInfo",
    "Npwp",
    "PlateNumber",
    "make_billing_code",
    "make_nik",
    "make_plate",
    "mask_nik",
    "normalize_billing_code",
    "normalize_nik",
    "normalize_npwp",
    "normalize_plate",
    "parse_nik",
]

# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------

# Province codes (the first two NIK digits) of all 38 provinces.
# Source: Kepmendagri No 300.2.2-2138 Tahun 2025 (kode dan data wilayah administrasi
# pemerintahan), as packaged in github.com/cahyadsn/wilayah db/wilayah.sql [V:WILAYAH].
# 93-96 are the provinces carved out of Papua in 2022 (UU 14, 15, 16 and 29 of 2022;
# codes first assigned by Kepmendagri 100.1.1-6117/2022). A NIK keeps the code of its
# *first* registration for life, so residents registered before 2022 in what is now e.g.
# Papua Selatan still carry 91; every code below therefore stays valid.
PROVINCES: Mapping[str, str] = MappingProxyType(
    {
        "11": "Aceh",
        "12": "Sumatera Utara",
        "13": "Sumatera Barat",
        "14": "Riau",
        "15": "Jambi",
        "16": "Sumatera Selatan",
        "17": "Bengkulu",
        "18": "Lampung",
        "19": "Kepulauan Bangka Belitung",
        "21": "Kepulauan Riau",
        "31": "DKI Jakarta",
        "32": "Jawa Barat",
        "33": "Jawa Tengah",
        "34": "DI Yogyakarta",
        "35": "Jawa Timur",
        "36": "Banten",
        "51": "Bali",
        "52": "Nusa Tenggara Barat",
        "53": "Nusa Tenggara Timur",
        "61": "Kalimantan Barat",
        "62": "Kalimantan Tengah",
        "63": "Kalimantan Selatan",
        "64": "Kalimantan Timur",
        "65": "Kalimantan Utara",
        "71": "Sulawesi Utara",
        "72": "Sulawesi Tengah",
        "73": "Sulawesi Selatan",
        "74": "Sulawesi Tenggara",
        "75": "Gorontalo",
        "76": "Sulawesi Barat",
        "81": "Maluku",
        "82": "Maluku Utara",
        "91": "Papua",
        "92": "Papua Barat",
        "93": "Papua Selatan",
        "94": "Papua Tengah",
        "95": "Papua Pegunungan",
        "96": "Papua Barat Daya",
    }
)

# Region codes of civilian vehicle registration numbers (NRKB / TNKB front letters).
# Source: Peraturan Kepolisian (Perpol) No 7 Tahun 2021 on vehicle registration and
# identification, Lampiran A "Penentuan kode wilayah" [V:PERPOL7]; plus the three codes
# Korlantas Polri introduced in 2024 for the new Papua provinces: PY (Papua Barat Daya,
# May 2024), PS (Papua Selatan, Jul 2024), PT (Papua Tengah, Aug 2024) -- reported by
# korlantas.polri.go.id, via gridoto.com/read/224141354. Papua Pegunungan still uses PA.
# Diplomatic (CD/CC), military and police plates have other formats and are out of scope.
PLATE_REGIONS: Mapping[str, str] = MappingProxyType(
    {
        # Sumatra
        "BL": "Aceh",
        "BB": "Sumatera Utara (west: Tapanuli)",
        "BK": "Sumatera Utara (east: Medan)",
        "BA": "Sumatera Barat",
        "BM": "Riau",
        "BP": "Kepulauan Riau",
        "BH": "Jambi",
        "BG": "Sumatera Selatan",
        "BN": "Kepulauan Bangka Belitung",
        "BD": "Bengkulu",
        "BE": "Lampung",
        # Java
        "A": "Banten",
        "B": "DKI Jakarta, Depok, Bekasi, Kota Tangerang, Tangerang Selatan",
        "D": "Bandung, Cimahi, Bandung Barat",
        "E": "Cirebon, Indramayu, Majalengka, Kuningan",
        "F": "Bogor, Cianjur, Sukabumi",
        "T": "Purwakarta, Karawang, Subang",
        "Z": "Garut, Tasikmalaya, Sumedang, Ciamis, Banjar, Pangandaran",
        "G": "Pekalongan, Tegal, Brebes, Batang, Pemalang",
        "H": "Semarang, Salatiga, Kendal, Demak",
        "K": "Pati, Kudus, Jepara, Rembang, Blora, Grobogan",
        "R": "Banyumas, Cilacap, Purbalingga, Banjarnegara",
        "AA": "Kedu (Magelang, Purworejo, Kebumen, Temanggung, Wonosobo)",
        "AB": "DI Yogyakarta",
        "AD": "Surakarta (Solo, Sukoharjo, Boyolali, Sragen, Karanganyar, Wonogiri, Klaten)",
        "L": "Surabaya",
        "M": "Madura",
        "N": "Malang, Pasuruan, Probolinggo, Batu, Lumajang",
        "P": "Besuki (Bondowoso, Situbondo, Jember, Banyuwangi)",
        "S": "Bojonegoro, Tuban, Lamongan, Jombang",
        "W": "Sidoarjo, Gresik, Mojokerto",
        "AE": "Madiun, Ngawi, Magetan, Ponorogo, Pacitan",
        "AG": "Kediri, Blitar, Tulungagung, Nganjuk, Trenggalek",
        # Bali and Nusa Tenggara
        "DK": "Bali",
        "DR": "Lombok (Nusa Tenggara Barat)",
        "EA": "Sumbawa (Nusa Tenggara Barat)",
        "DH": "Timor (Nusa Tenggara Timur)",
        "EB": "Flores (Nusa Tenggara Timur)",
        "ED": "Sumba (Nusa Tenggara Timur)",
        # Kalimantan
        "KB": "Kalimantan Barat",
        "KH": "Kalimantan Tengah",
        "DA": "Kalimantan Selatan",
        "KT": "Kalimantan Timur",
        "KU": "Kalimantan Utara",
        # Sulawesi
        "DB": "Sulawesi Utara (mainland)",
        "DL": "Sulawesi Utara (Sangihe, Talaud, Sitaro)",
        "DM": "Gorontalo",
        "DN": "Sulawesi Tengah",
        "DD": "Sulawesi Selatan (Makassar and south)",
        "DP": "Sulawesi Selatan (Parepare and north)",
        "DW": "Sulawesi Selatan (Bone, Wajo, Soppeng)",
        "DC": "Sulawesi Barat",
        "DT": "Sulawesi Tenggara",
        # Maluku and Papua
        "DE": "Maluku",
        "DG": "Maluku Utara",
        "PA": "Papua, Papua Pegunungan",
        "PB": "Papua Barat",
        "PS": "Papua Selatan",
        "PT": "Papua Tengah",
        "PY": "Papua Barat Daya",
    }
)

NIK_LENGTH = 16
BILLING_CODE_LENGTH = 15
#: First digits a SIMPONI billing code can have (a sample starts with 8; 7 and 9 occur too).
BILLING_CODE_PREFIXES = frozenset("789")

# Separators people type inside identifiers; removed before validation.
_NIK_SEPARATORS = re.compile(r"[\s.]+")
_NPWP_SEPARATORS = re.compile(r"[\s.\-]+")
_PLATE_SEPARATORS = re.compile(r"[\s.\-]+")
_BILLING_SEPARATORS = re.compile(r"[\s.\-]+")
_PLATE_SHAPE = re.compile(r"([A-Z]+)([0-9]+)([A-Z]*)")

_WOMAN_DAY_OFFSET = 40  # women's NIKs carry birth day + 40 (41-71)


def _error(kind: str, reason: str, template: str, **ctx: Any) -> PydanticCustomError:
    """Build the custom error: ``type`` says which identifier, ``ctx['reason']`` says why."""
    return PydanticCustomError(kind, template, {"reason": reason, **ctx})


def _bare_digits(value: object, kind: str, label: str, separators: re.Pattern[str], ignored: str) -> str:
    """``value`` without the separators people type; raises ``kind`` (reason ``type`` or
    ``not_digits``) unless only digits remain. The length is the caller's to check."""
    if not isinstance(value, str):
        raise _error(kind, "type", f"{label} must be a string of digits")
    digits = separators.sub("", value)
    if digits and not (digits.isascii() and digits.isdigit()):
        raise _error(kind, "not_digits", f"{label} must contain only digits ({ignored} are ignored)")
    return digits


# ---------------------------------------------------------------------------
# NIK (Nomor Induk Kependudukan)
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NikInfo:
    """What a NIK encodes: where it was first registered, birth date, sex and serial.

    Region codes are cumulative prefixes so they join directly with Kemendagri's
    wilayah tables: province ``"13"``, regency/city ``"1375"``, district ``"137501"``.
    ``repr`` shows only the masked NIK, because the birth date is personal data and
    objects end up in logs more often than anyone intends.
    """

    nik: str = field(repr=False)
    province: str
    regency: str
    district: str
    birth_date: date = field(repr=False)
    sex: Literal["F", "M"]
    serial: str = field(repr=False)

    @property
    def province_name(self) -> str:
        """Name of the province of first registration, e.g. ``"Sumatera Barat"``."""
        return PROVINCES[self.province]

    def __repr__(self) -> str:
        return (
            f"NikInfo(nik={mask_nik(self.nik)!r}, province={self.province!r}, "
            f"regency={self.regency!r}, district={self.district!r}, sex={self.sex!r})"
        )


def normalize_nik(value: str) -> str:
    """Return the bare 16-digit NIK or raise ``nik_invalid`` naming the first problem."""
    return parse_nik(value).nik


def parse_nik(value: str, *, today: date | None = None) -> NikInfo:
    """Validate a NIK (``PP KK CC DDMMYY SSSS``) and decode it.

    Spaces and dots are removed first (NIKs are often typed as ``13.75.01...``).
    The two-digit year is ambiguous, so the date must exist in 19YY or 20YY; the
    returned ``birth_date`` uses 20YY unless that lies after ``today`` (default: the
    current date). Raises :class:`PydanticCustomError` of type ``nik_invalid``, which is
    a ``ValueError``.
    """
    nik = _bare_digits(value, "nik_invalid", "NIK", _NIK_SEPARATORS, "spaces and dots")
    if len(nik) != NIK_LENGTH:
        raise _error("nik_invalid", "length", "NIK must be 16 digits, got {length}", length=len(nik))

    province, regency, district = nik[0:2], nik[2:4], nik[4:6]
    dd, mm, yy, serial = nik[6:8], nik[8:10], nik[10:12], nik[12:16]

    # Messages name the field by its position, never by its digits: region codes, birth
    # date and serial together re-identify a person, and error bodies end up in portal
    # logs. The context carries only the reason, for the same reason.
    if province not in PROVINCES:
        raise _error("nik_invalid", "province", "NIK province code (first two digits) is not an Indonesian province")
    if regency == "00":
        raise _error("nik_invalid", "regency", "NIK regency/city code (third and fourth digits) must not be zero")
    if district == "00":
        raise _error("nik_invalid", "district", "NIK district code (fifth and sixth digits) must not be zero")

    raw_day = int(dd)
    if 1 <= raw_day <= 31:
        sex: Literal["F", "M"] = "M"
        day = raw_day
    elif _WOMAN_DAY_OFFSET + 1 <= raw_day <= _WOMAN_DAY_OFFSET + 31:
        sex = "F"
        day = raw_day - _WOMAN_DAY_OFFSET
    else:
        raise _error(
            "nik_invalid",
            "birth_day",
            "NIK birth day (seventh and eighth digits) is out of range: the day of the month for men, the day plus forty for women",
        )
    month = int(mm)
    if not 1 <= month <= 12:
        raise _error("nik_invalid", "birth_month", "NIK birth month (ninth and tenth digits) is not a month")

    birth_date = _resolve_birth_date(day, month, int(yy), today or date.today())
    if birth_date is None:
        if day <= max(calendar.monthrange(2000, month)[1], calendar.monthrange(1900, month)[1]):
            # Only 29 February can exist in one century and not the other.
            raise _error(
                "nik_invalid",
                "birth_date",
                "NIK birth date (seventh to twelfth digits) is not a real date: a leap day in a "
                "year that is not a leap year in either century",
            )
        raise _error("nik_invalid", "birth_date", "NIK birth date (seventh to twelfth digits) is not a real date")

    if serial == "0000":
        raise _error("nik_invalid", "serial", "NIK serial (last four digits) must not be all zeros")

    return NikInfo(
        nik=nik,
        province=province,
        regency=nik[0:4],
        district=nik[0:6],
        birth_date=birth_date,
        sex=sex,
        serial=serial,
    )


def _resolve_birth_date(day: int, month: int, yy: int, today: date) -> date | None:
    """Pick the century for a two-digit year: 20YY unless in the future, else 19YY.

    Returns ``None`` when the day exists in neither century (e.g. 29-02-01). 29-02-00
    exists only in 2000 (1900 was not a leap year) and is therefore accepted.
    """
    candidates: list[date] = []
    for century in (2000, 1900):
        try:
            candidates.append(date(century + yy, month, day))
        except ValueError:
            continue
    if not candidates:
        return None
    for candidate in candidates:
        if candidate <= today:
            return candidate
    return candidates[-1]


def mask_nik(nik: str) -> str:
    """Mask a NIK for logs, e.g. ``"1375**********07"``.

    Keeps the province and regency (not personal; useful when debugging routing) and the
    last two serial digits (enough to tell two cases apart); everything in between,
    including the birth date, is hidden. Never raises: logging code must not fail on
    garbage, and anything that is not a 16-digit NIK is masked entirely.
    """
    if not isinstance(nik, str):
        return "****"
    bare = _NIK_SEPARATORS.sub("", nik)
    if len(bare) != NIK_LENGTH or not (bare.isascii() and bare.isdigit()):
        return "*" * max(len(bare), 4)
    return bare[:4] + "*" * (NIK_LENGTH - 6) + bare[-2:]


Nik = Annotated[
    str,
    AfterValidator(normalize_nik),
    Field(
        description=("NIK (Nomor Induk Kependudukan): 16 digits PPKKCCDDMMYYSSSS; spaces and dots are ignored."),
        examples=["1375015203900007"],
    ),
]
"""16-digit national identity number; normalised to bare digits, custom error ``nik_invalid``."""


# ---------------------------------------------------------------------------
# NPWP (tax number)
# ---------------------------------------------------------------------------


def _luhn_check_digit(payload: str) -> int:
    """Luhn check digit of ``payload``: double every second digit from the right."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def _check_legacy_npwp(digits15: str) -> None:
    """Verify C in ``AA.BBB.BBB.C-DDD.EEE``: the Luhn check digit of ``AABBBBBB``."""
    expected = _luhn_check_digit(digits15[:8])
    actual = int(digits15[8])
    if actual != expected:
        raise _error(
            "npwp_invalid",
            "check_digit",
            "NPWP check digit is {actual}, expected {expected} (Luhn over the first 8 digits)",
            actual=actual,
            expected=expected,
        )


def normalize_npwp(value: str) -> str:
    """Return the 16-digit NPWP or raise ``npwp_invalid``.

    Accepted: the 16-digit NPWP of resident individuals (which is their NIK, PMK
    112/2022), the 16-digit NPWP of everyone else (``0`` + the legacy 15 digits), and
    the legacy 15-digit ``AA.BBB.BBB.C-DDD.EEE`` with or without punctuation, which is
    converted by prefixing ``0`` so one taxpayer has one key in our data.
    """
    digits = _bare_digits(value, "npwp_invalid", "NPWP", _NPWP_SEPARATORS, "spaces, dots and dashes")
    if len(digits) == 15:
        _check_legacy_npwp(digits)
        return "0" + digits
    if len(digits) == 16:
        if digits[0] == "0":
            _check_legacy_npwp(digits[1:])
            return digits
        try:
            return normalize_nik(digits)
        except PydanticCustomError as exc:
            raise _error(
                "npwp_invalid",
                "nik",
                "NPWP of an individual must be a valid NIK: {nik_error}",
                nik_error=exc.message(),
                nik_reason=(exc.context or {}).get("reason"),
            ) from exc
    raise _error(
        "npwp_invalid",
        "length",
        "NPWP must be 16 digits (or the legacy 15), got {length}",
        length=len(digits),
    )


Npwp = Annotated[
    str,
    AfterValidator(normalize_npwp),
    Field(
        description=(
            "NPWP (tax number), normalised to 16 digits: a NIK for resident individuals, "
            "'0' + the legacy 15 digits otherwise. Legacy AA.BBB.BBB.C-DDD.EEE is accepted."
        ),
        examples=["0081234569123000", "08.123.456.9-123.000"],
    ),
]
"""16-digit NPWP (legacy 15-digit input converted); custom error ``npwp_invalid``."""


# ---------------------------------------------------------------------------
# Vehicle registration number (NRKB / TNKB)
# ---------------------------------------------------------------------------


def _plate_error(reason: str, template: str, **ctx: Any) -> PydanticCustomError:
    return _error("plate_invalid", reason, template, **ctx)


def normalize_plate(value: str) -> str:
    """Return the plate as ``"BA 1234 LZ"`` or raise ``plate_invalid``.

    Input may use any case and spacing (``"ba1234lz"``, ``"BA-1234-LZ"``), because
    citizens and agency systems write plates every way imaginable and one vehicle must
    map to one key.
    """
    if not isinstance(value, str):
        raise _plate_error("type", "plate number must be a string")
    compact = _PLATE_SEPARATORS.sub("", value).upper()
    match = _PLATE_SHAPE.fullmatch(compact) if compact.isascii() else None
    if match is None:
        raise _plate_error("shape", "plate number must be region letters, a 1-4 digit number and up to 3 series letters, e.g. 'BA 1234 LZ'")
    region, number, series = match.groups()
    if len(region) > 2:
        raise _plate_error("region_length", "plate region code must be 1-2 letters, got {length}", length=len(region))
    if region not in PLATE_REGIONS:
        raise _plate_error("region", "plate region code {region} is not an Indonesian region code", region=region)
    if len(number) > 4:
        raise _plate_error("number_length", "plate number must be 1-4 digits, got {length}", length=len(number))
    if number.startswith("0"):
        raise _plate_error("number_leading_zero", "plate number must not start with 0, got {number}", number=number)
    if len(series) > 3:
        raise _plate_error("series_length", "plate series must be at most 3 letters, got {length}", length=len(series))
    return " ".join(part for part in (region, number, series) if part)


PlateNumber = Annotated[
    str,
    AfterValidator(normalize_plate),
    Field(
        description="Vehicle registration number (NRKB/TNKB), normalised to 'BA 1234 LZ'.",
        examples=["BA 1234 LZ", "B 1 ABC"],
    ),
]
"""Indonesian civilian plate number, normalised; custom error ``plate_invalid``."""


# ---------------------------------------------------------------------------
# PNBP billing code (SIMPONI kode billing)
# ---------------------------------------------------------------------------


def normalize_billing_code(value: str) -> str:
    """Return the 15-digit SIMPONI billing code or raise ``billing_code_invalid``."""
    digits = _bare_digits(value, "billing_code_invalid", "billing code", _BILLING_SEPARATORS, "spaces, dots and dashes")
    if len(digits) != BILLING_CODE_LENGTH:
        raise _error(
            "billing_code_invalid",
            "length",
            "billing code must be 15 digits, got {length}",
            length=len(digits),
        )
    if digits[0] not in BILLING_CODE_PREFIXES:
        raise _error(
            "billing_code_invalid",
            "prefix",
            "billing code must start with 7, 8 or 9 (SIMPONI billing), got {first}",
            first=digits[0],
        )
    return digits


BillingCode = Annotated[
    str,
    AfterValidator(normalize_billing_code),
    Field(
        description="SIMPONI PNBP billing code (kode billing): 15 digits starting with 7, 8 or 9.",
        examples=["820220922465628"],
    ),
]
"""15-digit PNBP billing code starting with 7, 8 or 9; custom error ``billing_code_invalid``."""


# ---------------------------------------------------------------------------
# Synthetic generators (tests, simulators, benchmarks)
# ---------------------------------------------------------------------------

# Adults only, and a range in which the 19YY/20YY rule of parse_nik always recovers the
# generated year: 1950-1999 (20YY would be in the future) and 2000-2007.
_MIN_BIRTH = date(1950, 1, 1)
_MAX_BIRTH = date(2007, 12, 31)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# First series letter per region for the defaults; Bukittinggi is "L" [S:PLATE-BA].
_DEFAULT_SERIES_PREFIX: Mapping[str, str] = MappingProxyType({"BA": "L"})


def make_nik(rng: random.Random, *, female: bool | None = None, region: str = "137501") -> str:
    """Generate a valid, synthetic NIK; deterministic for a seeded ``rng``.

    ``region`` is the 6-digit district of first registration (default 13.75.01 Guguk
    Panjang, Bukittinggi; dots allowed). ``female=None`` picks the sex at random.
    Birth dates fall in 1950-2007 so that :func:`parse_nik` recovers the same date.
    """
    district = region.replace(".", "")
    if len(district) != 6 or not district.isdigit():
        raise ValueError("region must be a 6-digit district code such as '137501'")
    if female is None:
        female = rng.random() < 0.5
    birth = _MIN_BIRTH + timedelta(days=rng.randrange((_MAX_BIRTH - _MIN_BIRTH).days + 1))
    day = birth.day + (_WOMAN_DAY_OFFSET if female else 0)
    serial = rng.randint(1, 9999)
    nik = f"{district}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    return normalize_nik(nik)  # fails loudly if ``region`` is not a real province


def make_plate(rng: random.Random, region: str = "BA") -> str:
    """Generate a valid, normalised plate such as ``"BA 1234 LZ"``.

    Series letters: one or two (three for Jakarta's ``B``, which exhausted shorter
    series); for ``BA`` the first letter is ``L``, Bukittinggi's, to match the default
    region of :func:`make_nik`.
    """
    region = region.upper()
    if region not in PLATE_REGIONS:
        raise ValueError(f"unknown plate region code {region!r}")
    number = rng.randint(1, 9999)
    length = 3 if region == "B" else rng.randint(1, 2)
    prefix = _DEFAULT_SERIES_PREFIX.get(region, "")
    series = prefix + "".join(rng.choice(_LETTERS) for _ in range(length - len(prefix)))
    return normalize_plate(f"{region} {number} {series}")


def make_billing_code(rng: random.Random) -> str:
    """Generate a valid synthetic PNBP billing code: ``7``, ``8`` or ``9`` and 14 digits."""
    first = rng.choice(sorted(BILLING_CODE_PREFIXES))
    return first + "".join(rng.choice("0123456789") for _ in range(BILLING_CODE_LENGTH - 1))
