"""The simulated Siskohat register: what happens to each record when its batch closes.

Kept apart from the protocol (``adapters.kemenhaj.simulator``) so the rules read on
their own. Records are processed in the order they were put, batch after batch, so
"already registered" and "already transferred" have one answer. The ledger keeps no
NIK in the clear: records carry a keyed digest of each NIK, the age it encodes and
its province.

Rules (deterministic, so tests can aim at them):

* **Registration** (``PENDAFTARAN``): refused ``USIA_BELUM_12_TAHUN`` when the NIK's
  birth date makes the registrant younger than 12 on the day the record was put;
  ``SUDAH_TERDAFTAR`` when the NIK holds an active portion; and
  ``SETORAN_LEWAT_5_HARI_KERJA`` when the deposit was paid more than 5 working days
  before [V:HAJI-GOID]. Otherwise ``TERDAFTAR``: a nomor porsi of 10 digits (the
  office's province code + an 8-digit serial from 50,000,001 on [I]), an SPPH number,
  the estimated departure year (registration year + the province's waiting time,
  :data:`MASA_TUNGGU_TAHUN`) and the bank's validation number.
* **Existing portions**: besides the simulator's own, every porsi of a known
  province with a serial up to 50,000,000 exists (registered before the simulator
  started) with any NIK as its holder [I]; a serial above that which the simulator
  did not issue does not exist (``PORSI_TIDAK_DITEMUKAN``).
* **Cancellation** (``PEMBATALAN``): the porsi must exist, be active
  (``PORSI_TIDAK_AKTIF``) and belong to ``nik_jemaah`` (``NIK_JEMAAH_TIDAK_SESUAI``).
  ``DIBATALKAN``: the whole deposit back without deduction [S:HAJI-BATAL], expected
  9 working days later (2 office + 3 ministry + 2 BPKH + 2 bank) [S:HAJI-REFUND].
* **Portion transfer** (``PELIMPAHAN``): same checks, then only once per porsi
  (``SUDAH_PERNAH_DILIMPAHKAN``), the registrant must have died on or after 29 Apr
  2019 (``WAFAT_SEBELUM_29_APRIL_2019``) [S:HAJI-PELIMPAHAN], and an heir holding an
  active portion of their own is refused (``AHLI_WARIS_SUDAH_TERDAFTAR``) [I].
  ``DILIMPAHKAN``: same porsi and departure estimate, a new SPPH [I].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from adapters.kemenhaj import native
from adapters.sdk import testing as sim
from schemas.identifiers import PROVINCES, parse_nik

#: Serials up to this one were issued before the simulator started [I].
SERI_AWAL: Final[int] = 50_000_000
#: Initial deposit [V:HAJI-GOID].
SETORAN_AWAL: Final[int] = 25_000_000
USIA_MINIMUM: Final[int] = 12
HARI_KERJA_SETORAN: Final[int] = 5
HARI_KERJA_PENGEMBALIAN: Final[int] = 9
WAFAT_SEJAK: Final[date] = date(2019, 4, 29)
#: Waiting time in years by province, Kemenag's list of May 2023 [S:HAJI-TUNGGU].
MASA_TUNGGU_TAHUN: Final[dict[str, int]] = {
    "11": 32, "12": 21, "13": 24, "14": 25, "15": 32, "16": 23, "18": 23,
    "31": 27, "33": 31, "34": 33, "35": 34, "51": 28,
}  # fmt: skip
#: Elsewhere: the national figure, ~26 years [S:HAJI-MENIT].
MASA_TUNGGU_NASIONAL: Final[int] = 26


def sidik_nik(nik: str) -> str:
    """A digest of a NIK: enough to match holders, not to read the NIK back."""
    return sim.stable_digits("siskohat-nik", nik, length=24)


def estimasi_berangkat(provinsi: str, tahun_daftar: int) -> int:
    return tahun_daftar + MASA_TUNGGU_TAHUN.get(provinsi, MASA_TUNGGU_NASIONAL)


@dataclass
class Porsi:
    pemegang: str | None  # NIK digest; None: issued before the simulator, any holder
    aktif: bool
    dilimpahkan: bool
    estimasi: int
    setoran: int


class Register:
    """The portions as the processed records left them."""

    def __init__(self) -> None:
        self.porsi: dict[str, Porsi] = {}
        self.terbit = 0

    def cari(self, nomor: str) -> Porsi | None:
        if nomor not in self.porsi and nomor[:2] in PROVINCES and int(nomor[2:]) <= SERI_AWAL:
            lama = sim.stable_int("porsi", nomor) % 20
            self.porsi[nomor] = Porsi(None, True, False, estimasi_berangkat(nomor[:2], 2010 + lama), SETORAN_AWAL)
        return self.porsi.get(nomor)

    def memegang_porsi_aktif(self, sidik: str) -> bool:
        return any(p.aktif and p.pemegang == sidik for p in self.porsi.values())

    def catat(self, keadaan: dict[str, Any], hasil: dict[str, Any]) -> None:
        """What a processed record changed."""
        status = native.StatusHasil(hasil["status"])
        if status is native.StatusHasil.TERDAFTAR:
            self.terbit += 1
            self.porsi[hasil["nomor_porsi"]] = Porsi(keadaan["sidik"], True, False, hasil["estimasi_berangkat"], keadaan["setoran"])
        elif status in (native.StatusHasil.DIBATALKAN, native.StatusHasil.DILIMPAHKAN):
            porsi = self.cari(hasil["nomor_porsi"])
            assert porsi is not None, "a processed record names a porsi that exists"
            if status is native.StatusHasil.DIBATALKAN:
                porsi.aktif = False
            else:
                porsi.pemegang, porsi.dilimpahkan = keadaan["sidik_penerima"], True


def keadaan_awal(rekaman: native.RekamanPendaftaran | native.RekamanPembatalan | native.RekamanPelimpahan, hari: date) -> dict[str, Any]:
    """What the ledger keeps of a record until its batch closes (no NIK in the clear)."""
    if isinstance(rekaman, native.RekamanPendaftaran):
        lahir = parse_nik(rekaman.nik, today=hari).birth_date
        umur = hari.year - lahir.year - ((hari.month, hari.day) < (lahir.month, lahir.day))
        return {"sidik": sidik_nik(rekaman.nik), "umur": umur, "kode_kantor": rekaman.kode_kantor, "setoran": rekaman.nominal_setoran,
                "tanggal_setoran": rekaman.tanggal_setoran.isoformat(), "nomor_validasi": rekaman.nomor_validasi}  # fmt: skip
    if isinstance(rekaman, native.RekamanPembatalan):
        return {"nomor_porsi": rekaman.nomor_porsi, "sidik": sidik_nik(rekaman.nik_jemaah)}
    return {
        "nomor_porsi": rekaman.nomor_porsi,
        "sidik": sidik_nik(rekaman.nik_jemaah),
        "sidik_penerima": sidik_nik(rekaman.nik_penerima),
        "tanggal_wafat": rekaman.tanggal_wafat.isoformat() if rekaman.tanggal_wafat else None,
    }


def proses(id_rekaman: str, keadaan: dict[str, Any], register: Register, clock: sim.SimClock) -> dict[str, Any]:
    """The result line of one record, given the register before it."""
    jenis = native.JenisRekaman(keadaan["jenis"])
    hari = date.fromisoformat(keadaan["tanggal"])
    kerja = {native.JenisRekaman.PENDAFTARAN: _daftar, native.JenisRekaman.PEMBATALAN: _batal, native.JenisRekaman.PELIMPAHAN: _limpah}[
        jenis
    ]
    try:
        isi = kerja(keadaan, register, hari, clock)
    except _Tolak as tolak:
        isi = {"status": native.StatusHasil.DITOLAK, "kode_tolak": tolak.kode, "keterangan": tolak.keterangan}
    hasil = native.HasilRekaman.model_validate({"id_rekaman": id_rekaman, "jenis": jenis, "tanggal": hari, **isi}).model_dump(
        mode="json", exclude_none=True
    )
    register.catat(keadaan, hasil)
    return hasil


class _Tolak(Exception):
    def __init__(self, kode: native.KodeTolak, keterangan: str) -> None:
        super().__init__(kode)
        self.kode, self.keterangan = kode.value, keterangan


def _daftar(keadaan: dict[str, Any], register: Register, hari: date, clock: sim.SimClock) -> dict[str, Any]:
    if keadaan["umur"] < USIA_MINIMUM:
        raise _Tolak(
            native.KodeTolak.USIA_BELUM_12_TAHUN, f"Usia pendaftar {keadaan['umur']} tahun; minimal {USIA_MINIMUM} tahun saat mendaftar."
        )
    if register.memegang_porsi_aktif(keadaan["sidik"]):
        raise _Tolak(native.KodeTolak.SUDAH_TERDAFTAR, "NIK sudah terdaftar sebagai jemaah haji reguler dengan nomor porsi aktif.")
    if clock.working_days_between(date.fromisoformat(keadaan["tanggal_setoran"]), hari) > HARI_KERJA_SETORAN:
        raise _Tolak(
            native.KodeTolak.SETORAN_LEWAT_5_HARI_KERJA, f"Pendaftaran lebih dari {HARI_KERJA_SETORAN} hari kerja setelah setoran awal."
        )
    serial = SERI_AWAL + register.terbit + 1
    provinsi = keadaan["kode_kantor"][:2]
    return {
        "status": native.StatusHasil.TERDAFTAR,
        "nomor_porsi": f"{provinsi}{serial:08d}",
        "nomor_spph": f"SPPH/{keadaan['kode_kantor']}/{hari.year}/{serial % 1_000_000:06d}",
        "estimasi_berangkat": estimasi_berangkat(provinsi, hari.year),
        "nomor_validasi_bank": keadaan["nomor_validasi"],
    }


def _porsi_milik(keadaan: dict[str, Any], register: Register) -> Porsi:
    porsi = register.cari(keadaan["nomor_porsi"])
    if porsi is None:
        raise _Tolak(native.KodeTolak.PORSI_TIDAK_DITEMUKAN, f"Nomor porsi {keadaan['nomor_porsi']} tidak ditemukan.")
    if not porsi.aktif:
        raise _Tolak(native.KodeTolak.PORSI_TIDAK_AKTIF, f"Nomor porsi {keadaan['nomor_porsi']} sudah dibatalkan.")
    if porsi.pemegang is not None and porsi.pemegang != keadaan["sidik"]:
        raise _Tolak(native.KodeTolak.NIK_JEMAAH_TIDAK_SESUAI, "NIK jemaah tidak sesuai dengan pemegang nomor porsi.")
    return porsi


def _batal(keadaan: dict[str, Any], register: Register, hari: date, clock: sim.SimClock) -> dict[str, Any]:
    porsi = _porsi_milik(keadaan, register)
    return {
        "status": native.StatusHasil.DIBATALKAN,
        "nomor_porsi": keadaan["nomor_porsi"],
        "dana_kembali": porsi.setoran,
        "perkiraan_dana_diterima": clock.add_working_days(hari, HARI_KERJA_PENGEMBALIAN),
    }


def _limpah(keadaan: dict[str, Any], register: Register, hari: date, clock: sim.SimClock) -> dict[str, Any]:
    porsi = _porsi_milik(keadaan, register)
    if porsi.dilimpahkan:
        raise _Tolak(native.KodeTolak.SUDAH_PERNAH_DILIMPAHKAN, "Nomor porsi hanya dapat dilimpahkan satu kali.")
    wafat = keadaan["tanggal_wafat"]
    if wafat is not None and date.fromisoformat(wafat) < WAFAT_SEJAK:
        raise _Tolak(
            native.KodeTolak.WAFAT_SEBELUM_29_APRIL_2019, "Pelimpahan hanya untuk jemaah yang wafat sejak 29 April 2019 (UU 8/2019)."
        )
    if register.memegang_porsi_aktif(keadaan["sidik_penerima"]):
        raise _Tolak(native.KodeTolak.AHLI_WARIS_SUDAH_TERDAFTAR, "Penerima pelimpahan sudah memegang nomor porsi aktif.")
    serial = sim.stable_digits("spph", keadaan["nomor_porsi"], keadaan["sidik_penerima"], length=6)
    return {
        "status": native.StatusHasil.DILIMPAHKAN,
        "nomor_porsi": keadaan["nomor_porsi"],
        "nomor_spph": f"SPPH/L/{hari.year}/{serial}",
        "estimasi_berangkat": porsi.estimasi,
    }


def jatuh_tempo(keadaan: dict[str, Any], sekarang: datetime) -> bool:
    """Is the record's batch closed (and its result not yet written)?"""
    return keadaan.get("hasil") is None and datetime.fromisoformat(keadaan["batas_tutup"]) <= sekarang
