"""Registers that several simulated agencies read, so their answers agree.

The vehicle register is one register in real life: Polri's Regident keeps it and
Samsat reads it (domain.md 5.2: Samsat is a joint office of Polri, Bapenda and Jasa
Raharja). The Samsat simulator checks papers against it and the Polri simulator
checks rubbed chassis and engine numbers against it, so a vehicle that passes one
passes the other. Everything is derived from the plate, so tests, contract samples
and people trying the hub by hand can know a vehicle's numbers without a database
(``GET /_sim/register/{nopol}`` on the Samsat simulator serves them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from adapters.sdk.testing.derive import stable_int

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
