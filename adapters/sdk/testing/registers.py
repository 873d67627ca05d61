"""Registers that several simulated agencies read, so their answers agree.

The vehicle register is one register in real life: Polri's Regident keeps it and
Samsat reads it (domain.md 5.2: Samsat is a joint office of Polri, Bapenda and Jasa
Raharja). The Samsat simulator checks papers against it and the Polri simulator
checks rubbed chassis and engine numbers against it, so a vehicle that passes one
passes the other. Everything is derived from the plate, so tests, contract samples
and people trying the hub by hand can know a vehicle's numbers without a database
(``GET /_sim/register/{nopol}`` on the Samsat simulator serves them).

The JKN membership register is BPJS Kesehatan's; Polri reads it because SIM and SKCK
applicants must be active JKN members (Perpol 2/2023, Perpol 6/2023). The BPJS
Kesehatan simulator answers membership checks from it and the Polri simulator refuses
SKCK and SIM applications of members it holds as inactive, so a NIK is active (or not)
in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from adapters.sdk.testing.derive import stable_digits, stable_int

#: NIK endings (the serial's last two digits) the JKN register holds as not active
#: (81 arrears, 82 removed from PBI, 83 employment ended), and as not registered at all.
JKN_TIDAK_AKTIF: Final[frozenset[str]] = frozenset({"81", "82", "83"})
JKN_TIDAK_TERDAFTAR: Final[str] = "00"

#: Plates with a serial above this (9001..9999) are not in the register.
BATAS_SERIAL_TERDAFTAR: Final[int] = 9000

_HURUF_BPKB: Final[str] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_HURUF_VIN: Final[str] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # ISO 3779: no I, O, Q
_HURUF_MESIN: Final[str] = "ABCDEFGHJKLMNPRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class DataRegister:
    """What the vehicle register holds about one vehicle's papers."""

    nopol: str
    no_bpkb: str
    nomor_rangka: str
    nomor_mesin: str


def serial_nopol(nopol: str) -> int:
    """The number in the middle of a plate (``BA 1234 LZ`` -> 1234)."""
    return int(nopol.split(" ")[1])


def nopol_terdaftar(nopol: str) -> bool:
    """Serials 1..9000 are registered, 9001..9999 are not."""
    return serial_nopol(nopol) <= BATAS_SERIAL_TERDAFTAR


def data_register(nopol: str) -> DataRegister | None:
    """The register record of a plate, or ``None`` for an unregistered plate: a BPKB
    number (letter + 8 digits), a VIN ("MH" + 15 characters) and an engine number
    (3 letters + 7 digits), all taken from SHA-256 of the plate."""
    if not nopol_terdaftar(nopol):
        return None
    h = stable_int("register", nopol)
    no_bpkb = _HURUF_BPKB[h % len(_HURUF_BPKB)] + f"{(h >> 8) % 10**8:08d}"
    vin = "MH" + "".join(_HURUF_VIN[(h >> (40 + 5 * i)) % len(_HURUF_VIN)] for i in range(15))
    mesin_h = stable_int("mesin", nopol)
    mesin = "".join(_HURUF_MESIN[(mesin_h >> (5 * i)) % len(_HURUF_MESIN)] for i in range(3)) + f"{(mesin_h >> 20) % 10**7:07d}"
    return DataRegister(nopol=nopol, no_bpkb=no_bpkb, nomor_rangka=vin, nomor_mesin=mesin)


def jkn_terdaftar(nik: str) -> bool:
    """Every NIK is in the JKN register except those ending in ``00``."""
    return nik[-2:] != JKN_TIDAK_TERDAFTAR


def jkn_aktif(nik: str) -> bool:
    """A registered member is active unless the NIK ends in 81, 82 or 83."""
    return jkn_terdaftar(nik) and nik[-2:] not in JKN_TIDAK_AKTIF


def nomor_kartu_jkn(nik: str) -> str:
    """The member's 13-digit JKN card number: ``000`` + 10 digits derived from the NIK [I]."""
    return "000" + stable_digits("kartu-jkn", nik, length=10)
