"""A stand-in for Samsat's backend: a separate HTTP service speaking Samsat's native API.

Why it exists: the Samsat adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- its own Indonesian field names, its own
error shape, its own idempotency contract, and its bad days (slowness, overload,
outages, replies lost or mangled after the work was done, daily quotas). Talking to
the real Samsat from tests is neither possible nor desirable.

It deliberately imports nothing from ``hub`` or ``schemas`` (it imitates a system we do
not control). The misbehaviour and the apply-once ledger come from the shared toolkit
(:mod:`adapters.sdk.testing.simulation`); what is Samsat's own lives here: the native API, the
business rules and the simulated vehicle register.

Native API
==========

Every operation is ``POST`` with header ``Idempotency-Key`` (required; the hub passes
its step id) and a strict JSON body (unknown fields refused). 200 replies are the
operation's ``Hasil...`` model; every error reply is
:class:`~adapters.samsat.native.GalatSamsat` (``{"status": "GAGAL", "kode_error",
"pesan"}``).

``POST /api/v1/pkb/pengesahan`` -- annual PKB payment + STNK endorsement
    :class:`~adapters.samsat.native.PermohonanPengesahan` ->
    :class:`~adapters.samsat.native.HasilPengesahan`.
``POST /api/v1/stnk/perpanjangan-lima-tahunan`` -- 5-year STNK renewal + new plates
    :class:`~adapters.samsat.native.PermohonanPerpanjanganLimaTahunan` ->
    :class:`~adapters.samsat.native.HasilPerpanjanganLimaTahunan`.
``POST /api/v1/bbnkb/balik-nama`` -- ownership transfer of a used vehicle (BBN-KB)
    :class:`~adapters.samsat.native.PermohonanBalikNama` ->
    :class:`~adapters.samsat.native.HasilBalikNama`.

Simulated register and business rules (deterministic, so tests can aim at them):

* **Unregistered plates**: a plate whose serial (the number in the middle) is above
  9000 -- 9001..9999 -- is not in the register: 404 ``NOPOL_TIDAK_TERDAFTAR`` (all
  operations).
* **Owner mismatch**: a NIK ending in ``"99"`` is not the vehicle's registered owner:
  409 ``NIK_TIDAK_SESUAI`` (``nik_pemilik`` of the annual and the 5-year operations,
  ``nik_pemilik_lama`` -- the seller -- of a transfer).
* **Register record**: each registered plate has one BPKB number, chassis number and
  engine number, derived from the plate by :func:`data_register` (also served at
  ``GET /_sim/register/{nopol}`` for people trying the hub by hand).

  - A ``no_bpkb`` that is not the plate's: 409 ``BPKB_TIDAK_SESUAI`` (a copied or
    another vehicle's BPKB; the original must be shown).
  - A physical check (``cek_fisik``) whose chassis or engine number differs from the
    register: 409 ``CEK_FISIK_TIDAK_SESUAI`` (a rubbing that does not match the papers).
* **Transfer rules**: a sale receipt without the Rp10,000 stamp duty (``kwitansi.
  bermeterai`` false): 422 ``KWITANSI_TANPA_METERAI``; a transfer to the registered
  owner themself (``nik_pemilik_baru`` = ``nik_pemilik_lama``): 409
  ``PEMILIK_BARU_SAMA``.
* Checks run in this order: register (404), documents (BPKB, receipt), owners,
  physical check. Malformed input (bad JSON, wrong pattern, unknown field): 422
  ``DATA_TIDAK_VALID`` with a ``kesalahan`` list.

Fees (whole rupiah; domain.md 5.2 Samsat, PP 60/2016):

* SWDKLLJ Rp143,000 (MOBIL) / Rp35,000 (MOTOR); annual endorsement Rp50,000 /
  Rp25,000; new STNK Rp200,000 / Rp100,000; new plates (TNKB) Rp100,000 / Rp60,000;
  new BPKB Rp375,000 / Rp225,000.
* PKB is a stand-in derived from a hash of the plate: Rp1,000,000..5,000,000 for cars,
  Rp150,000..600,000 for motorcycles, in whole thousands (the real PKB is a provincial
  % of the vehicle's value, not verified for Sumbar).
* BBNKB is a stand-in too: half the PKB, rounded down to a thousand (as if PKB were
  ~2% and BBNKB ~1% of the vehicle's value) [I]. Under UU 1/2022 (HKPD) BBNKB is a
  provincial tax and may apply only to the first transfer; check the Perda Sumbar.
* The 5-year renewal charges that year's PKB + SWDKLLJ + new STNK + new plates; a
  transfer charges BBNKB + PKB + SWDKLLJ + new BPKB + new STNK + new plates
  (Jasa Raharja's SWDKLLJ is part of the transfer flow, domain.md 5.4 F1).

Dates are local (WIB, UTC+7) because Samsat counters work on local days: the annual
endorsement is valid one year, a new STNK five years (29 Feb -> 28 Feb), the new
plate shows that month/year as ``MM.YY``; a transfer's BPKB is estimated
``bpkb_working_days`` working days (Mon-Fri) after the transfer (knob, default 14:
"days to weeks" at Polda [S/I]).

Idempotency (the contract the hub's at-most-once story relies on), via
:meth:`Ledger.apply_once <adapters.sdk.testing.simulation.Ledger.apply_once>`:

* Each ``Idempotency-Key`` is applied at most once; the reply is stored.
* A repeat with the same key and the same body (compared after parsing, so key order
  and whitespace do not matter) gets the stored reply byte for byte, with header
  ``Idempotent-Replayed: true``; the entry's replay counter goes up.
* The same key with a different body (or on another operation): 409
  ``KUNCI_SUDAH_DIPAKAI``.
* Only successful applications are recorded. Refusals (404/409/422/429) and failures
  before applying (503) are not, so a retry after the cause is gone can still apply.

Knobs (:class:`SamsatKnobs` = the toolkit's :class:`~adapters.sdk.testing.simulation.Knobs` +
``bpkb_working_days``), applied to native requests in this order: ``down`` (503
``SISTEM_TIDAK_TERSEDIA``), ``latency_ms``, ``error_rate`` (503 ``SISTEM_SIBUK`` +
``Retry-After: 1``, nothing applied), idempotency-key check (400), body validation
(422), ledger replay/conflict (409), ``daily_quota`` per WIB day (429 ``KUOTA_HABIS``
+ ``Retry-After`` until midnight), business rules (404/409/422), apply + record, then
``drop_reply_after_apply`` (504 ``WAKTU_HABIS`` after the operation was applied:
execute-then-timeout) or ``garble_rate`` (200 with an HTML page instead of JSON, after
applying). Replays never lose or garble their reply. ``seed`` seeds the random.

Control plane (toolkit's ``/_sim/health``, ``/_sim/ledger`` -- entries carry
``subject`` = the plate -- and ``/_sim/knobs``; plus ``/_sim/register/{nopol}``):
never affected by the knobs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Final, Generic, Literal, TypeVar

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.samsat.native import (
    BIAYA_BPKB,
    BIAYA_PENGESAHAN,
    BIAYA_STNK,
    BIAYA_TNKB,
    HEADER_IDEMPOTENCY_KEY,
    HEADER_IDEMPOTENT_REPLAYED,
    PATH_BALIK_NAMA,
    PATH_PENGESAHAN,
    PATH_PERPANJANGAN_LIMA_TAHUNAN,
    POLA_NOPOL,
    SWDKLLJ,
    CekFisik,
    GalatSamsat,
    HasilBalikNama,
    HasilPengesahan,
    HasilPerpanjanganLimaTahunan,
    JenisKendaraan,
    KodeError,
    PermohonanBalikNama,
    PermohonanPengesahan,
    PermohonanPerpanjanganLimaTahunan,
    ProsesBpkb,
    RincianBalikNama,
    RincianBiaya,
    RincianPerpanjangan,
    StatusBpkb,
)
from adapters.sdk.testing.simulation import Fault, Knobs, Ledger, Outcome, SimulatorRuntime, simulator_app

#: Samsat counters in Sumatera Barat work on Western Indonesia Time (UTC+7, no DST).
#: A fixed offset avoids depending on the system tz database.
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")

#: Names of the operations as recorded in the ledger.
OPERASI_PENGESAHAN: Final[str] = "PKB_PENGESAHAN"
OPERASI_PERPANJANGAN: Final[str] = "STNK_LIMA_TAHUNAN"
OPERASI_BALIK_NAMA: Final[str] = "BBNKB_BALIK_NAMA"

#: Longest idempotency key accepted; the hub's step ids are far shorter.
MAX_PANJANG_KEY: Final[int] = 200

#: Plates with a serial above this are "unregistered" in the simulator.
BATAS_SERIAL_TERDAFTAR: Final[int] = 9000

#: Stand-in PKB ranges per vehicle class, rupiah, inclusive, step 1,000.
RENTANG_PKB: Final[dict[JenisKendaraan, tuple[int, int]]] = {
    JenisKendaraan.MOBIL: (1_000_000, 5_000_000),
    JenisKendaraan.MOTOR: (150_000, 600_000),
}

#: What a garbled reply looks like: a gateway's HTML page with a 200, not Samsat's JSON.
BALASAN_RUSAK: Final[bytes] = (
    b"<!DOCTYPE html><html><head><title>e-Samsat</title></head>"
    b"<body><h1>Sesi Anda telah berakhir</h1><p>Silakan masuk kembali.</p></body></html>"
)

_HURUF_BPKB: Final[str] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_HURUF_VIN: Final[str] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # ISO 3779: no I, O, Q
_HURUF_MESIN: Final[str] = "ABCDEFGHJKLMNPRSTUVWXYZ"
_POLA_NOPOL: Final[re.Pattern[str]] = re.compile(POLA_NOPOL)


class SamsatKnobs(Knobs):
    """The toolkit's common fault knobs plus Samsat's own."""

    bpkb_working_days: int = Field(
        default=14, ge=1, le=120, description="Working days until a transferred vehicle's new BPKB is ready at Polda."
    )
    error_status: Literal[500, 503] = Field(
        default=503, description="How error_rate fails: 503 SISTEM_SIBUK with Retry-After, or a bare 500 GALAT_INTERNAL (a crashed backend)."
    )


# ------------------------------------------------------------------ business rules


def _hash(*parts: str) -> int:
    """A stable hash (not Python's salted ``hash``), so every process derives the same values."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode("utf-8")).digest()[:16], "big")


def hitung_pkb(nopol: str, jenis: JenisKendaraan) -> int:
    """Deterministic stand-in PKB for a plate: same plate, same tax, on every run."""
    lo, hi = RENTANG_PKB[jenis]
    h = int.from_bytes(hashlib.sha256(nopol.encode("utf-8")).digest()[:8], "big")
    return lo + (h % ((hi - lo) // 1000 + 1)) * 1000


def hitung_bbnkb(nopol: str, jenis: JenisKendaraan) -> int:
    """Stand-in BBNKB: half the PKB in whole thousands (see the module docstring)."""
    return hitung_pkb(nopol, jenis) // 2 // 1000 * 1000


def serial_nopol(nopol: str) -> int:
    """The number in the middle of a plate (``BA 1234 LZ`` -> 1234)."""
    return int(nopol.split(" ")[1])


def nopol_terdaftar(nopol: str) -> bool:
    """Simulated register: serials 1..9000 exist, 9001..9999 are unregistered plates."""
    return serial_nopol(nopol) <= BATAS_SERIAL_TERDAFTAR


def nik_pemilik_sesuai(nik: str) -> bool:
    """Simulated owner check: a NIK ending in "99" is not the vehicle's registered owner."""
    return not nik.endswith("99")


@dataclass(frozen=True, slots=True)
class DataRegister:
    """What the simulated register (Polri Regident) holds about one vehicle's papers."""

    nopol: str
    no_bpkb: str
    nomor_rangka: str
    nomor_mesin: str


def data_register(nopol: str) -> DataRegister | None:
    """The register record of a plate, or ``None`` for an unregistered plate.

    Derived from the plate, so tests, the contract samples and people trying the hub
    can know the right BPKB, chassis and engine numbers without a database."""
    if not nopol_terdaftar(nopol):
        return None
    h = _hash("register", nopol)
    no_bpkb = _HURUF_BPKB[h % len(_HURUF_BPKB)] + f"{(h >> 8) % 10**8:08d}"
    vin = "MH" + "".join(_HURUF_VIN[(h >> (40 + 5 * i)) % len(_HURUF_VIN)] for i in range(15))
    mesin_h = _hash("mesin", nopol)
    mesin = "".join(_HURUF_MESIN[(mesin_h >> (5 * i)) % len(_HURUF_MESIN)] for i in range(3)) + f"{(mesin_h >> 20) % 10**7:07d}"
    return DataRegister(nopol=nopol, no_bpkb=no_bpkb, nomor_rangka=vin, nomor_mesin=mesin)


def kode_bayar_untuk(key: str, nopol: str) -> str:
    """A 15-digit billing code starting with 8 (SIMPONI-style), stable per key and plate."""
    h = int.from_bytes(hashlib.sha256(f"{key}|{nopol}".encode()).digest()[:8], "big")
    return "8" + f"{h % 10**14:014d}"


def no_stnk_untuk(key: str, nopol: str) -> str:
    """Serial of a newly printed STNK (8 digits), stable per key and plate."""
    return f"{_hash('stnk', key, nopol) % 10**8:08d}"


def tambah_tahun(day: date, years: int) -> date:
    """Same calendar day ``years`` later; 29 Feb becomes 28 Feb."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def tambah_satu_tahun(day: date) -> date:
    """Same calendar day next year; 29 Feb becomes 28 Feb."""
    return tambah_tahun(day, 1)


def tambah_hari_kerja(day: date, n: int) -> date:
    """``n`` working days (Mon-Fri) after ``day``; public holidays are not simulated."""
    current = day
    while n > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            n -= 1
    return current


def no_transaksi(today: date, sequence: int) -> str:
    return f"SMS-BA-{today:%Y%m%d}-{sequence:06d}"


class Penolakan(Exception):
    """A refusal on the merits, raised inside the ledger's ``produce`` so nothing is recorded."""

    def __init__(self, status_code: int, kode: KodeError, pesan: str) -> None:
        super().__init__(pesan)
        self.status_code = status_code
        self.kode = kode
        self.pesan = pesan


def _wajib_terdaftar(nopol: str) -> DataRegister:
    record = data_register(nopol)
    if record is None:
        raise Penolakan(404, KodeError.NOPOL_TIDAK_TERDAFTAR, f"Nomor polisi {nopol} tidak terdaftar.")
    return record


def _wajib_pemilik(nik: str, siapa: str = "NIK") -> None:
    if not nik_pemilik_sesuai(nik):
        raise Penolakan(409, KodeError.NIK_TIDAK_SESUAI, f"{siapa} tidak sesuai dengan pemilik kendaraan yang terdaftar.")


def _wajib_bpkb(record: DataRegister, no_bpkb: str) -> None:
    if no_bpkb != record.no_bpkb:
        raise Penolakan(409, KodeError.BPKB_TIDAK_SESUAI, "Nomor BPKB tidak sesuai dengan data registrasi kendaraan.")


def _wajib_cek_fisik(record: DataRegister, cek: CekFisik) -> None:
    beda = [
        nama
        for nama, dilihat, terdaftar in (
            ("nomor rangka", cek.nomor_rangka, record.nomor_rangka),
            ("nomor mesin", cek.nomor_mesin, record.nomor_mesin),
        )
        if dilihat != terdaftar
    ]
    if beda:
        raise Penolakan(
            409, KodeError.CEK_FISIK_TIDAK_SESUAI, f"Hasil cek fisik tidak sesuai registrasi: {', '.join(beda)}."
        )


def buat_hasil(permohonan: PermohonanPengesahan, *, key: str, sequence: int, today: date) -> HasilPengesahan:
    """Annual endorsement: fees, totals, validity and Samsat's own numbers."""
    _wajib_terdaftar(permohonan.nopol)
    _wajib_pemilik(permohonan.nik_pemilik)
    jenis = permohonan.jenis_kendaraan
    rincian = RincianBiaya(
        pkb=hitung_pkb(permohonan.nopol, jenis), swdkllj=SWDKLLJ[jenis], biaya_pengesahan=BIAYA_PENGESAHAN[jenis]
    )
    return HasilPengesahan(
        nopol=permohonan.nopol,
        kode_bayar=kode_bayar_untuk(key, permohonan.nopol),
        rincian=rincian,
        total_bayar=rincian.pkb + rincian.swdkllj + rincian.biaya_pengesahan,
        berlaku_sampai=tambah_satu_tahun(today),
        tanggal_pengesahan=today,
        no_transaksi=no_transaksi(today, sequence),
    )


def buat_hasil_perpanjangan(
    permohonan: PermohonanPerpanjanganLimaTahunan, *, key: str, sequence: int, today: date
) -> HasilPerpanjanganLimaTahunan:
    """5-year renewal: this year's PKB + SWDKLLJ, a new STNK for 5 years and new plates."""
    record = _wajib_terdaftar(permohonan.nopol)
    _wajib_bpkb(record, permohonan.no_bpkb)
    _wajib_pemilik(permohonan.nik_pemilik)
    _wajib_cek_fisik(record, permohonan.cek_fisik)
    jenis = permohonan.jenis_kendaraan
    rincian = RincianPerpanjangan(
        pkb=hitung_pkb(permohonan.nopol, jenis), swdkllj=SWDKLLJ[jenis], biaya_stnk=BIAYA_STNK[jenis], biaya_tnkb=BIAYA_TNKB[jenis]
    )
    berlaku = tambah_tahun(today, 5)
    return HasilPerpanjanganLimaTahunan(
        nopol=permohonan.nopol,
        kode_bayar=kode_bayar_untuk(key, permohonan.nopol),
        rincian=rincian,
        total_bayar=rincian.pkb + rincian.swdkllj + rincian.biaya_stnk + rincian.biaya_tnkb,
        stnk_berlaku_sampai=berlaku,
        masa_berlaku_tnkb=f"{berlaku:%m.%y}",
        tanggal_penetapan=today,
        no_transaksi=no_transaksi(today, sequence),
    )


def buat_hasil_balik_nama(
    permohonan: PermohonanBalikNama, *, key: str, sequence: int, today: date, bpkb_working_days: int
) -> HasilBalikNama:
    """Ownership transfer: STNK in the new owner's name now, BPKB later at Polda."""
    record = _wajib_terdaftar(permohonan.nopol)
    _wajib_bpkb(record, permohonan.no_bpkb)
    if not permohonan.kwitansi.bermeterai:
        raise Penolakan(422, KodeError.KWITANSI_TANPA_METERAI, "Kwitansi jual beli wajib bermeterai Rp10.000.")
    _wajib_pemilik(permohonan.nik_pemilik_lama, "NIK pemilik lama")
    if permohonan.nik_pemilik_baru == permohonan.nik_pemilik_lama:
        raise Penolakan(409, KodeError.PEMILIK_BARU_SAMA, "Pemilik baru sama dengan pemilik terdaftar.")
    _wajib_cek_fisik(record, permohonan.cek_fisik)
    jenis = permohonan.jenis_kendaraan
    rincian = RincianBalikNama(
        bbnkb=hitung_bbnkb(permohonan.nopol, jenis),
        pkb=hitung_pkb(permohonan.nopol, jenis),
        swdkllj=SWDKLLJ[jenis],
        biaya_bpkb=BIAYA_BPKB[jenis],
        biaya_stnk=BIAYA_STNK[jenis],
        biaya_tnkb=BIAYA_TNKB[jenis],
    )
    return HasilBalikNama(
        nopol=permohonan.nopol,
        kode_bayar=kode_bayar_untuk(key, permohonan.nopol),
        rincian=rincian,
        total_bayar=sum(rincian.model_dump().values()),
        no_stnk=no_stnk_untuk(key, permohonan.nopol),
        bpkb=ProsesBpkb(
            status=StatusBpkb.DIPROSES_POLDA,
            perkiraan_selesai=tambah_hari_kerja(today, bpkb_working_days),
            keterangan="BPKB atas nama pemilik baru sedang diproses di Polda; ambil dengan bukti pembayaran dan KTP.",
        ),
        tanggal_penetapan=today,
        no_transaksi=no_transaksi(today, sequence),
    )


def sidik_jari(operasi: str, permohonan: BaseModel) -> str:
    """Fingerprint of a request *after* parsing, so "same body" ignores key order and
    spacing; the operation is part of it, so one key cannot serve two operations."""
    kanonik = json.dumps([operasi, permohonan.model_dump(mode="json")], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(kanonik.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- responses


def galat(
    status_code: int,
    kode: KodeError,
    pesan: str,
    *,
    kesalahan: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Samsat's error shape, used for every non-2xx native reply so the adapter has one parser."""
    isi = GalatSamsat(kode_error=kode, pesan=pesan, kesalahan=kesalahan)
    return JSONResponse(isi.model_dump(mode="json", exclude_none=True), status_code=status_code, headers=headers)


def _uraikan_galat_validasi(exc: ValidationError | RequestValidationError) -> list[str]:
    """Flatten pydantic errors into "field: message" lines for ``kesalahan``."""
    baris: list[str] = []
    for err in exc.errors():
        lokasi = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        baris.append(f"{lokasi}: {err.get('msg', 'tidak valid')}")
    return baris


def _detik_sampai_tengah_malam(now: datetime) -> int:
    """Seconds until the next local midnight, when the daily quota resets."""
    lokal = now.astimezone(WIB)
    besok = datetime.combine(lokal.date() + timedelta(days=1), time(0), tzinfo=WIB)
    return max(1, int((besok - lokal).total_seconds()))


# ---------------------------------------------------------------------------- app

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class Operasi(Generic[P]):
    """One native operation: its ledger name, request model, how its reply is computed
    (``hasilkan(permohonan, key, sequence, now, knobs)``, raising :class:`Penolakan` to
    refuse) and a one-line summary for the API docs."""

    nama: str
    model: type[P]
    hasilkan: Callable[[P, str, int, datetime, SamsatKnobs], BaseModel]
    ringkas: str


OPERASI: Final[dict[str, Operasi[Any]]] = {
    PATH_PENGESAHAN: Operasi(
        OPERASI_PENGESAHAN,
        PermohonanPengesahan,
        lambda p, key, seq, now, knobs: buat_hasil(p, key=key, sequence=seq, today=now.date()),
        "Annual PKB payment + STNK endorsement",
    ),
    PATH_PERPANJANGAN_LIMA_TAHUNAN: Operasi(
        OPERASI_PERPANJANGAN,
        PermohonanPerpanjanganLimaTahunan,
        lambda p, key, seq, now, knobs: buat_hasil_perpanjangan(p, key=key, sequence=seq, today=now.date()),
        "5-year STNK renewal + new plates (TNKB)",
    ),
    PATH_BALIK_NAMA: Operasi(
        OPERASI_BALIK_NAMA,
        PermohonanBalikNama,
        lambda p, key, seq, now, knobs: buat_hasil_balik_nama(
            p, key=key, sequence=seq, today=now.date(), bpkb_working_days=knobs.bpkb_working_days
        ),
        "Ownership transfer of a used vehicle (BBN-KB)",
    ),
}


def _jam_sistem() -> datetime:
    return datetime.now(WIB)


def create_app(
    knobs: SamsatKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build a simulator app with its own ledger, knobs and random.

    ``clock`` (an aware-datetime factory) exists for tests that need fixed dates or to
    cross a day boundary; by default the system clock in WIB is used. The ledger is
    opened here, not at startup, so the app also works under transports that skip
    lifespan events (e.g. ``httpx.ASGITransport``); it is closed on shutdown when
    lifespan runs. ``app.state.simulator`` is the toolkit runtime (knobs, ledger).
    """
    runtime = SimulatorRuntime(knobs or SamsatKnobs(), Ledger(ledger_path))
    jam = clock or _jam_sistem

    app = simulator_app(runtime, title="Samsat backend simulator", description="Native Samsat API (annual PKB + STNK, 5-year STNK + plates, BBN-KB) for mpp-hub adapter tests.", version="2.0.0")

    @app.exception_handler(RequestValidationError)
    async def _validasi(_: Request, exc: RequestValidationError) -> JSONResponse:
        return galat(422, KodeError.DATA_TIDAK_VALID, "Data permohonan tidak valid.", kesalahan=_uraikan_galat_validasi(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kode = {404: KodeError.TIDAK_DITEMUKAN, 405: KodeError.METODE_TIDAK_DIIZINKAN}.get(exc.status_code, KodeError.GALAT_INTERNAL)
        return galat(exc.status_code, kode, str(exc.detail), headers=getattr(exc, "headers", None))

    async def layani(request: Request, operasi: Operasi[Any]) -> Response:
        """Gate, validate, apply at most once per Idempotency-Key, then misbehave if asked."""
        # Read the body first, as a real server does before it gets slow: a caller that
        # gives up during the latency is then just a reply nobody reads, not an error here.
        isi = await request.body()
        fault = await runtime.gate()
        if fault is Fault.DOWN:
            return galat(503, KodeError.SISTEM_TIDAK_TERSEDIA, "Sistem Samsat sedang tidak tersedia.")
        knob: SamsatKnobs = runtime.knobs  # type: ignore[assignment]  # one consistent view for this request
        if fault is Fault.BUSY:
            if knob.error_status == 500:
                return galat(500, KodeError.GALAT_INTERNAL, "Terjadi kesalahan internal.")
            return galat(503, KodeError.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", headers={"Retry-After": "1"})

        key = request.headers.get(HEADER_IDEMPOTENCY_KEY)
        if key is None or not key.strip():
            return galat(400, KodeError.IDEMPOTENCY_KEY_WAJIB, "Header Idempotency-Key wajib diisi.")
        if len(key) > MAX_PANJANG_KEY or not key.isprintable():
            return galat(
                400,
                KodeError.IDEMPOTENCY_KEY_TIDAK_VALID,
                f"Idempotency-Key harus berupa teks tercetak, maksimal {MAX_PANJANG_KEY} karakter.",
            )
        try:
            permohonan = operasi.model.model_validate_json(isi)
        except ValidationError as exc:
            return galat(422, KodeError.DATA_TIDAK_VALID, "Data permohonan tidak valid.", kesalahan=_uraikan_galat_validasi(exc))

        now = jam().astimezone(WIB)

        def produce(sequence: int) -> dict[str, Any]:
            # Runs inside the ledger's transaction: a Penolakan rolls back, nothing is recorded.
            return operasi.hasilkan(permohonan, key, sequence, now, knob).model_dump(mode="json")

        try:
            result = runtime.ledger.apply_once(
                key,
                operation=operasi.nama,
                subject=permohonan.nopol,  # the plate; never a NIK
                fingerprint=sidik_jari(operasi.nama, permohonan),
                produce=produce,
                today=now.date(),
                quota=knob.daily_quota,
                now=now,
            )
        except Penolakan as tolak:
            return galat(tolak.status_code, tolak.kode, tolak.pesan)

        if result.outcome is Outcome.CONFLICT:
            return galat(409, KodeError.KUNCI_SUDAH_DIPAKAI, "Idempotency-Key sudah dipakai untuk permohonan lain.")
        if result.outcome is Outcome.QUOTA_EXCEEDED:
            return galat(
                429,
                KodeError.KUOTA_HABIS,
                "Kuota permohonan hari ini sudah habis.",
                headers={"Retry-After": str(_detik_sampai_tengah_malam(now))},
            )
        assert result.entry is not None
        if result.outcome is Outcome.REPLAYED:
            return JSONResponse(result.entry.response, headers={HEADER_IDEMPOTENT_REPLAYED: "true"})
        if runtime.drop_reply():
            # Execute-then-timeout: the work is done and recorded, the caller never hears.
            return galat(504, KodeError.WAKTU_HABIS, "Batas waktu habis sebelum balasan terkirim.")
        if runtime.garble_reply():
            # Applied, then a gateway answers with its own page: not Samsat's protocol.
            return Response(BALASAN_RUSAK, status_code=200, media_type="text/html")
        return JSONResponse(result.entry.response)

    def daftarkan(path: str, operasi: Operasi[Any]) -> None:
        async def endpoint(request: Request) -> Response:
            return await layani(request, operasi)

        endpoint.__name__ = operasi.nama.lower()
        app.add_api_route(path, endpoint, methods=["POST"], summary=operasi.ringkas)

    for path, operasi in OPERASI.items():
        daftarkan(path, operasi)

    @app.get("/_sim/register/{nopol}")
    async def register(nopol: str) -> JSONResponse:
        """The simulated register record of a plate (control plane, for people and tests)."""
        if not _POLA_NOPOL.fullmatch(nopol):
            return galat(422, KodeError.DATA_TIDAK_VALID, f"Nomor polisi harus seperti 'BA 1234 LZ' ({POLA_NOPOL}).")
        record = data_register(nopol)
        if record is None:
            return galat(404, KodeError.NOPOL_TIDAK_TERDAFTAR, f"Nomor polisi {nopol} tidak terdaftar.")
        return JSONResponse(
            {"nopol": record.nopol, "no_bpkb": record.no_bpkb, "nomor_rangka": record.nomor_rangka, "nomor_mesin": record.nomor_mesin}
        )

    return app


def run_simulator(host: str, port: int, knobs: SamsatKnobs, ledger_path: str = ":memory:") -> None:
    """Serve the simulator until interrupted (blocking); used by dev scripts and fault tests."""
    uvicorn.run(create_app(knobs, ledger_path=ledger_path), host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.samsat.simulator --port 8701 --ledger /tmp/samsat.db``."""
    parser = argparse.ArgumentParser(description="Samsat backend simulator (native API).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--ledger", default=":memory:", help="SQLite file for the ledger (default in-memory).")
    parser.add_argument("--knobs", default="{}", help='Initial knobs as JSON, e.g. \'{"error_rate": 0.1}\'.')
    args = parser.parse_args(argv)
    run_simulator(args.host, args.port, SamsatKnobs.model_validate(json.loads(args.knobs)), args.ledger)


if __name__ == "__main__":
    main()
