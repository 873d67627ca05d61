"""A stand-in for Polri's backend: accepts applications, calls back later with a verdict.

Why it exists: the Polri adapter and the hub's callback endpoint must be developed and
fault-tested against something that behaves like the real, asynchronous, foreign
system -- its Indonesian protocol (``adapters.polri.native``), its idempotency
contract, signed callbacks that arrive seconds later, callback delivery that retries
while the hub is unreachable, duplicated deliveries, and its bad days.

It imports nothing from ``hub``; the request pipeline, knobs, apply-once ledger and
clock come from the SDK's simulator scaffold (:mod:`adapters.sdk.testing.scaffold`),
the vehicle register from :mod:`adapters.sdk.testing.registers`, and callbacks are
signed with ``adapters.sdk.callbacks.sign``.

Simulated business rules (deterministic, decided when the application is applied;
dates are local WIB days):

* **Active JKN** (SKCK, new and renewal, and SIM renewal; Perpol 6/2023 and Perpol
  2/2023), checked first, against the JKN register BPJS Kesehatan keeps
  (:mod:`adapters.sdk.testing.registers`, the one the BPJS Kesehatan simulator answers
  from): a NIK ending in ``00`` is no member (``DITOLAK JKN_TIDAK_TERDAFTAR``), one
  ending in ``81``/``82``/``83`` is inactive (``DITOLAK JKN_TIDAK_AKTIF``); a
  ``no_kartu_jkn`` that is not the member's card: ``DITOLAK JKN_TIDAK_SESUAI``.
* **Loss report** (``LAPORAN_KEHILANGAN``, SPKT): a loss dated after today is refused
  (``DITOLAK KEJADIAN_BELUM_TERJADI``); otherwise ``TERBIT`` at once with the report
  ``STPLK/<seq:04>/<Roman month>/<year>/SPKT/POLRES BUKITTINGGI`` [I] listing the lost
  items' kinds, free of charge.
* **Record hit** (SKCK, new and renewal): a NIK whose serial (last 4 digits) ends in
  ``13`` has a criminal record: first a ``DIPROSES`` callback (``tahap``
  ``KOORDINASI_CATATAN``: the coordination hold of domain.md 5.3), then ``DITOLAK``
  ``CATATAN_KRIMINAL``.
* **SKCK renewal**: the old number must look like a Polri register number
  ``SKCK/<UNIT>/<5-digit serial>/<Roman month>/<year>/<SECTION>`` with a serial below
  90000, else ``DITOLAK SKCK_LAMA_TIDAK_DITEMUKAN``; if today is more than 1 year after
  ``masa_berlaku_skck_lama``, ``DITOLAK SKCK_LAMA_KADALUARSA`` (apply for a new SKCK)
  [S:SKCK-BK].
* **SIM renewal**: an old SIM number ending in ``0000`` is not in the register
  (``DITOLAK SIM_TIDAK_DITEMUKAN``); an old SIM past ``masa_berlaku_sim_lama`` (renewal
  on the expiry day itself is still allowed) is refused ``DITOLAK SIM_KADALUARSA``:
  Perpol 5/2021 pasal 4 ayat 3, an expired SIM needs a new SIM with exams. The
  force-majeure exception (pasal 4 ayat 4, by Korlantas decision) is not simulated.
* **Vehicle check** (``CEK_FISIK_KENDARAAN``), checked in this order:

  - the plate must be in the vehicle register, *the one Samsat reads* (Polri Regident
    runs it): serials 1..9000 are registered, 9001..9999 are not (``DITOLAK
    NOPOL_TIDAK_TERDAFTAR``);
  - a plate whose serial ends in ``13`` (``BA 1313 LA``, ``BA 2013 LZ``) is reported
    stolen/blocked: first ``DIPROSES`` (``tahap`` ``KOORDINASI_RANMOR``: the hit is
    checked with Reskrim), then ``DITOLAK KENDARAAN_DIBLOKIR``;
  - the rubbed chassis and engine numbers must equal the register's
    (:func:`register_kendaraan`); otherwise ``DITOLAK CEK_FISIK_TIDAK_SESUAI`` naming
    which number differs.

  A passed check is ``TERBIT`` with ``cek_fisik``: the checked numbers, a clearance
  letter ``SKET/RANMOR/<seq:05>/<Roman month>/<year>/RESKRIM`` [I], the check date
  and ``status_ranmor`` ``BERSIH``.
* **Issued** (``TERBIT``): SKCK ``SKCK/YANMAS/<seq:05>/<Roman month>/<year>/INTELKAM``,
  Rp30,000, valid 6 months; SIM: a new 14-digit number, the class fee, valid 5 years
  from issue (Perpol 5/2021 pasal 4 ayat 1). The 29th-31st clamp to the month's end.

Idempotency: each ``X-Request-Id`` is applied once; a repeat with the same body gets
the stored 202 receipt (header ``X-Idempotent-Replay: true``) and no second verdict;
another body is ``409 REQUEST_ID_BENTROK``. Refusals are asynchronous verdicts, so the
applied application is what the ledger records; only the daily quota (429
``KUOTA_HARIAN_HABIS``) and faults before applying are synchronous. The SKCK path
serves two ledger operations, ``SKCK_BARU`` and ``SKCK_PERPANJANGAN``, as the body's
``jenis_permohonan`` says.

Callback delivery (per application, one background task; progress kept in the ledger
entry's ``state``, so ``GET /_sim/ledger`` shows every attempt):

* ``verdict_delay_ms`` after acceptance (split evenly when a ``DIPROSES`` precedes the
  verdict; due times are wall-clock, so a restart does not postpone them) the body is
  POSTed to ``callback_url``, signed with the shared ``callback_secret``;
* transport errors and 5xx are retried with exponential backoff
  (``callback_backoff_ms`` doubling, capped at 30 s) up to ``callback_max_attempts``;
  2xx (delivered) and 4xx (the hub refused; retrying will not change that) stop;
* retries resend the *same* signed request, so a hub that already recorded a callback
  whose answer was lost refuses the retry as a replay (409) instead of applying twice
  (re-signed only if older than 4 minutes, inside the hub's 5-minute skew window);
* ``duplicate_callback`` sends each delivered callback a second time, byte for byte;
* deliveries still pending are resumed on startup (a file ledger survives restarts)
  and when the caller repeats the application.

Knobs (:class:`PolriKnobs`, ``PUT /_sim/knobs``): the scaffold's pipeline applies the
common ones (``down`` 503 ``LAYANAN_TIDAK_TERSEDIA``; ``latency_ms``; ``error_rate``
503 ``LAYANAN_SIBUK`` + ``Retry-After: 1``, nothing applied; then ``X-Request-Id``
400, body 422, replay/conflict 409, ``daily_quota`` 429, apply; then
``drop_reply_after_apply`` 504 ``GATEWAY_TIMEOUT`` -- the verdict still comes -- or
``garble_rate``: 202 with an HTML body that is not the protocol). ``verdict_delay_ms``,
``duplicate_callback``, ``verdict_fault`` (corrupt the verdict callback: ``garbled`` =
not JSON, ``schema_invalid`` = TERBIT without its document, ``unknown_status`` = a
status word not in the protocol) and the delivery retry knobs are snapshotted per
application when it is applied.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

import httpx
from fastapi import FastAPI
from pydantic import Field

from adapters.polri import DEV_CALLBACK_SECRET, native
from adapters.sdk import testing as sim
from adapters.sdk.callbacks import SIGNATURE_HEADER, sign
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.clock import WIB
from adapters.sdk.testing.registers import data_register, jkn_aktif, jkn_terdaftar, nomor_kartu_jkn, serial_nopol

__all__ = [
    "DEV_CALLBACK_SECRET", "SECRET_NAME", "WIB", "PolriKnobs", "PolriSimulator", "create_app", "from_options", "kendaraan_diblokir", "register_kendaraan",
]  # fmt: skip

log = logging.getLogger(__name__)

SECRET_NAME: Final[str] = "callback_secret"

MAX_PANJANG_REQUEST_ID: Final[int] = 200
BACKOFF_MAKS_DETIK: Final[float] = 30.0
#: Re-sign a retried callback once its signature is this old (the hub allows 300 s).
TANDA_TANGAN_BARU_SETELAH: Final[float] = 240.0
BATAS_SERIAL_SKCK: Final[int] = 90_000

ROMAWI: Final[tuple[str, ...]] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_POLA_REGISTER_SKCK: Final = re.compile(
    r"^SKCK/[A-Z]+/(?P<serial>[0-9]{5})/(?P<bulan>" + "|".join(sorted(ROMAWI, key=len, reverse=True)) + r")/(?P<tahun>[0-9]{4})/[A-Z]+$"
)


class VerdiktRusak(StrEnum):
    """How the ``verdict_fault`` knob corrupts a verdict callback."""

    GARBLED = "garbled"
    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_STATUS = "unknown_status"


class PolriKnobs(sim.Knobs):
    """The common knobs plus Polri's asynchronous ones."""

    verdict_delay_ms: int = Field(default=1500, ge=0, le=600_000, description="From acceptance to the verdict callback.")
    duplicate_callback: bool = Field(default=False, description="Send every delivered callback twice, identically.")
    verdict_fault: VerdiktRusak | None = Field(default=None, description="Corrupt the verdict callback (fault tests).")
    callback_max_attempts: int = Field(default=6, ge=1, le=20, description="Delivery tries per callback.")
    callback_backoff_ms: int = Field(default=500, ge=0, le=60_000, description="First retry delay; doubles per try.")


# ------------------------------------------------------------------ business rules


def catatan_kriminal(nik: str) -> bool:
    """Simulated record check: a NIK serial ending in "13" is a hit."""
    return nik.endswith("13")


def skck_lama_terdaftar(nomor: str) -> bool:
    """Simulated register of issued SKCKs: Polri's number shape, serial below 90000."""
    match = _POLA_REGISTER_SKCK.match(nomor)
    return match is not None and int(match["serial"]) < BATAS_SERIAL_SKCK


def sim_lama_terdaftar(nomor: str) -> bool:
    """Simulated SIM register: numbers ending in 0000 were never issued."""
    return not nomor.endswith("0000")


def register_kendaraan(nopol: str) -> tuple[str, str] | None:
    """(nomor rangka, nomor mesin) the vehicle register holds for a plate, or ``None``
    for an unregistered plate (the register Samsat reads too)."""
    record = data_register(nopol)
    return None if record is None else (record.nomor_rangka, record.nomor_mesin)


def kendaraan_diblokir(nopol: str) -> bool:
    """Simulated stolen/blocked list: a plate serial ending in "13"."""
    return f"{serial_nopol(nopol)}".endswith("13")


def nomor_skck(urutan: int, today: date) -> str:
    return f"SKCK/YANMAS/{urutan % 100_000:05d}/{ROMAWI[today.month - 1]}/{today.year}/INTELKAM"


def nomor_sim(urutan: int, today: date) -> str:
    """14 digits: issue year and month, Polres Bukittinggi's area code 1375, a serial [I]."""
    return f"{today:%y%m}1375{urutan % 1_000_000:06d}"


def nomor_surat_keterangan(urutan: int, today: date) -> str:
    """Clearance letter of a vehicle check, numbered like Polri's other registers [I]."""
    return f"SKET/RANMOR/{urutan % 100_000:05d}/{ROMAWI[today.month - 1]}/{today.year}/RESKRIM"


def nomor_laporan(urutan: int, today: date) -> str:
    """A loss report's number as the SPKT prints it [I]."""
    return f"STPLK/{urutan % 10_000:04d}/{ROMAWI[today.month - 1]}/{today.year}/SPKT/POLRES BUKITTINGGI"


def nomor_registrasi(layanan: native.Layanan, urutan: int, today: date) -> str:
    jenis = {
        native.Layanan.SIM_PERPANJANGAN: "SIM",
        native.Layanan.CEK_FISIK_KENDARAAN: "RANMOR",
        native.Layanan.LAPORAN_KEHILANGAN: "SPKT",
    }.get(layanan, "SKCK")
    return f"POLRES-BKT/{jenis}/{today:%Y%m%d}/{urutan:06d}"


def _ditolak(kode: native.KodeAlasan, alasan: str) -> dict[str, Any]:
    return {"status": native.StatusPermohonan.DITOLAK.value, "penolakan": {"kode_alasan": kode.value, "alasan": alasan}}


def penolakan_jkn(nik: str, no_kartu: str | None) -> list[dict[str, Any]] | None:
    """SKCK and SIM need an active JKN membership (Perpol 6/2023, Perpol 2/2023)."""
    if not jkn_terdaftar(nik):
        return [_ditolak(native.KodeAlasan.JKN_TIDAK_TERDAFTAR, "Pemohon belum terdaftar sebagai peserta JKN; daftar di BPJS Kesehatan.")]
    if no_kartu is not None and no_kartu != nomor_kartu_jkn(nik):
        return [_ditolak(native.KodeAlasan.JKN_TIDAK_SESUAI, "Nomor kartu JKN tidak sesuai dengan NIK pemohon.")]
    if not jkn_aktif(nik):
        return [
            _ditolak(
                native.KodeAlasan.JKN_TIDAK_AKTIF,
                "Kepesertaan JKN pemohon tidak aktif; aktifkan kembali di BPJS Kesehatan lalu ajukan ulang.",
            )
        ]
    return None


def putusan_skck(permohonan: native.PermohonanSkck, urutan: int, today: date) -> list[dict[str, Any]]:
    """The callbacks (without envelope fields) an SKCK application will produce."""
    if jkn := penolakan_jkn(permohonan.nik, permohonan.no_kartu_jkn):
        return jkn
    if permohonan.nomor_skck_lama is not None and permohonan.masa_berlaku_skck_lama is not None:
        if not skck_lama_terdaftar(permohonan.nomor_skck_lama):
            return [_ditolak(native.KodeAlasan.SKCK_LAMA_TIDAK_DITEMUKAN, "Nomor SKCK lama tidak ditemukan dalam register.")]
        if today > sim.add_months(permohonan.masa_berlaku_skck_lama, 12):
            return [
                _ditolak(
                    native.KodeAlasan.SKCK_LAMA_KADALUARSA,
                    "SKCK lama telah lewat lebih dari 1 tahun dari masa berlakunya; ajukan SKCK baru.",
                )
            ]
    if catatan_kriminal(permohonan.nik):
        return [
            {"status": native.StatusPermohonan.DIPROSES.value, "tahap": "KOORDINASI_CATATAN"},
            _ditolak(native.KodeAlasan.CATATAN_KRIMINAL, "Pemohon memiliki catatan kriminal pada hasil pemeriksaan sidik jari."),
        ]
    dokumen = {
        "nomor_skck": nomor_skck(urutan, today),
        "tanggal_terbit": today.isoformat(),
        "berlaku_sampai": sim.add_months(today, native.MASA_BERLAKU_SKCK_BULAN).isoformat(),
        "biaya_pnbp": native.BIAYA_SKCK,
    }
    return [{"status": native.StatusPermohonan.TERBIT.value, "skck": dokumen}]


def putusan_sim(permohonan: native.PermohonanPerpanjanganSim, urutan: int, today: date) -> list[dict[str, Any]]:
    """The callbacks a SIM renewal will produce."""
    if jkn := penolakan_jkn(permohonan.nik, permohonan.no_kartu_jkn):
        return jkn
    if not sim_lama_terdaftar(permohonan.nomor_sim_lama):
        return [_ditolak(native.KodeAlasan.SIM_TIDAK_DITEMUKAN, "Nomor SIM lama tidak ditemukan dalam register.")]
    if today > permohonan.masa_berlaku_sim_lama:
        return [
            _ditolak(
                native.KodeAlasan.SIM_KADALUARSA,
                "SIM telah habis masa berlakunya dan tidak dapat diperpanjang; ajukan penerbitan SIM baru (Perpol 5/2021 pasal 4).",
            )
        ]
    dokumen = {
        "nomor_sim": nomor_sim(urutan, today),
        "golongan_sim": permohonan.golongan_sim.value,
        "tanggal_terbit": today.isoformat(),
        "berlaku_sampai": sim.add_months(today, 12 * native.MASA_BERLAKU_SIM_TAHUN).isoformat(),
        "biaya_pnbp": native.BIAYA_PERPANJANGAN_SIM[permohonan.golongan_sim],
    }
    return [{"status": native.StatusPermohonan.TERBIT.value, "sim": dokumen}]


def putusan_cek_fisik(permohonan: native.PermohonanCekFisik, urutan: int, today: date) -> list[dict[str, Any]]:
    """The callbacks a vehicle check will produce (rules in the module docstring)."""
    register = register_kendaraan(permohonan.nopol)
    if register is None:
        return [
            _ditolak(native.KodeAlasan.NOPOL_TIDAK_TERDAFTAR, f"Nomor polisi {permohonan.nopol} tidak terdaftar dalam register kendaraan.")
        ]
    if kendaraan_diblokir(permohonan.nopol):
        return [
            {"status": native.StatusPermohonan.DIPROSES.value, "tahap": "KOORDINASI_RANMOR"},
            _ditolak(
                native.KodeAlasan.KENDARAAN_DIBLOKIR,
                "Kendaraan tercatat sebagai kendaraan hilang/diblokir; proses balik nama tidak dapat dilanjutkan.",
            ),
        ]
    beda = [
        nama
        for nama, dilihat, terdaftar in (
            ("nomor rangka", permohonan.nomor_rangka, register[0]),
            ("nomor mesin", permohonan.nomor_mesin, register[1]),
        )
        if dilihat != terdaftar
    ]
    if beda:
        return [_ditolak(native.KodeAlasan.CEK_FISIK_TIDAK_SESUAI, f"Hasil cek fisik tidak sesuai register kendaraan: {', '.join(beda)}.")]
    dokumen = {
        "nomor_surat_keterangan": nomor_surat_keterangan(urutan, today),
        "nopol": permohonan.nopol,
        "nomor_rangka": permohonan.nomor_rangka,
        "nomor_mesin": permohonan.nomor_mesin,
        "tanggal_periksa": today.isoformat(),
        "status_ranmor": "BERSIH",
    }
    return [{"status": native.StatusPermohonan.TERBIT.value, "cek_fisik": dokumen}]


def putusan_laporan_kehilangan(permohonan: native.PermohonanLaporanKehilangan, urutan: int, today: date) -> list[dict[str, Any]]:
    """The callback a loss report produces: issued at once unless the loss lies ahead."""
    if permohonan.tanggal_kejadian > today:
        return [_ditolak(native.KodeAlasan.KEJADIAN_BELUM_TERJADI, "Tanggal kejadian kehilangan belum terjadi.")]
    dokumen = native.DokumenLaporanKehilangan(
        nomor_laporan=nomor_laporan(urutan, today), tanggal_lapor=today, barang=[b.jenis for b in permohonan.barang]
    )
    return [{"status": native.StatusPermohonan.TERBIT.value, "laporan_kehilangan": dokumen.model_dump(mode="json")}]


def rusak(isi: dict[str, Any], fault: VerdiktRusak | None) -> bytes:
    """The bytes of a callback body, corrupted as the ``verdict_fault`` knob says."""
    if fault is VerdiktRusak.GARBLED:
        return b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    dibuang = {*native.DOKUMEN_LAYANAN.values(), "penolakan"}
    if fault is VerdiktRusak.SCHEMA_INVALID:
        isi = {k: v for k, v in isi.items() if k not in dibuang} | {"status": native.StatusPermohonan.TERBIT.value}
    elif fault is VerdiktRusak.UNKNOWN_STATUS:
        isi = {k: v for k, v in isi.items() if k not in dibuang} | {"status": "DITANGGUHKAN"}
    return json.dumps(isi, separators=(",", ":")).encode()


PUTUSAN: Final[dict[type[Any], Callable[[Any, int, date], list[dict[str, Any]]]]] = {
    native.PermohonanSkck: putusan_skck,
    native.PermohonanPerpanjanganSim: putusan_sim,
    native.PermohonanCekFisik: putusan_cek_fisik,
    native.PermohonanLaporanKehilangan: putusan_laporan_kehilangan,
}


# ------------------------------------------------------------------ the protocol


class DialekPolri(sim.JsonDialect):
    """Polri speaks JSON: a 202 receipt, every error a :class:`GalatPolri`."""

    key = sim.KeyRule(native.HEADER_REQUEST_ID, max_length=MAX_PANJANG_REQUEST_ID)
    DOWN = sim.Say(503, native.KodeGalat.LAYANAN_TIDAK_TERSEDIA, "Layanan Polri sedang tidak tersedia.")
    BUSY = sim.Say(503, native.KodeGalat.LAYANAN_SIBUK, "Layanan sedang sibuk, silakan coba lagi.", retry_after=1)
    KEY_MISSING = sim.Say(400, native.KodeGalat.REQUEST_ID_WAJIB, f"Header {native.HEADER_REQUEST_ID} wajib diisi.")
    KEY_INVALID = sim.Say(
        400, native.KodeGalat.REQUEST_ID_TIDAK_VALID, f"{native.HEADER_REQUEST_ID} maksimal {MAX_PANJANG_REQUEST_ID} karakter tercetak."
    )
    MALFORMED = sim.Say(422, native.KodeGalat.DATA_TIDAK_VALID, "Data permohonan tidak valid.")
    CONFLICT = sim.Say(409, native.KodeGalat.REQUEST_ID_BENTROK, f"{native.HEADER_REQUEST_ID} sudah dipakai untuk permohonan lain.")
    QUOTA = sim.Say(429, native.KodeGalat.KUOTA_HARIAN_HABIS, "Kuota layanan hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeGalat.GATEWAY_TIMEOUT, "Batas waktu gateway habis.")
    HTTP_ERRORS = (native.KodeGalat.TIDAK_DITEMUKAN, native.KodeGalat.METODE_TIDAK_DIIZINKAN, native.KodeGalat.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_REPLAYED
    GARBLED_PAGE = "<html><body><h1>Permohonan diterima</h1></body></html>"

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return native.GalatPolri(kode=native.KodeGalat(code), pesan=message, rincian=details).model_dump(mode="json", exclude_none=True)

    def named_by(self, payload: Any) -> str:
        return str(payload.layanan)  # one SKCK path: new or renewal


# ------------------------------------------------------------------ the simulator


class PolriSimulator:
    """The callback side of one simulator instance: signed deliveries of the verdicts
    the applied applications carry in their ledger state."""

    def __init__(self, runtime: sim.SimulatorRuntime, *, secret: str, callback_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.runtime = runtime
        self.secret = secret
        self._transport = callback_transport
        self._http: httpx.AsyncClient | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def knobs(self) -> PolriKnobs:
        knobs = self.runtime.knobs
        assert isinstance(knobs, PolriKnobs)
        return knobs

    @property
    def ledger(self) -> sim.Ledger:
        return self.runtime.ledger

    def now(self) -> datetime:
        return self.runtime.clock.now()

    # -- receiving an application

    def operasi(self) -> tuple[sim.Operation[Any], ...]:
        """The native operations; each applied one schedules its callbacks."""

        def op(layanan: native.Layanan, path: str, model: type[Any], summary: str) -> sim.Operation[Any]:
            return sim.Operation(
                name=layanan.value,
                path=path,
                model=model,
                status=202,
                subject=lambda _: layanan.value,  # never the NIK: the ledger is visible on /_sim/ledger
                produce=self.terima,
                after=self.setelah,
                summary=summary,
            )

        return (
            op(native.Layanan.SKCK_BARU, native.PATH_SKCK, native.PermohonanSkck, "SKCK baru: accepted now, verdict by callback"),
            op(
                native.Layanan.SKCK_PERPANJANGAN,
                native.PATH_SKCK,
                native.PermohonanSkck,
                "SKCK perpanjangan: accepted now, verdict by callback",
            ),
            op(
                native.Layanan.SIM_PERPANJANGAN,
                native.PATH_SIM_PERPANJANGAN,
                native.PermohonanPerpanjanganSim,
                "SIM renewal: accepted now, verdict by callback",
            ),
            op(
                native.Layanan.CEK_FISIK_KENDARAAN,
                native.PATH_CEK_FISIK,
                native.PermohonanCekFisik,
                "Vehicle physical check + stolen/blocked check: accepted now, verdict by callback",
            ),
            op(
                native.Layanan.LAPORAN_KEHILANGAN,
                native.PATH_LAPORAN_KEHILANGAN,
                native.PermohonanLaporanKehilangan,
                "SPKT lost-document report: accepted now, the report by callback",
            ),
        )

    def terima(self, call: sim.Call[Any], urutan: int) -> sim.Produced:
        """The receipt, and the callbacks this application will send (decided now)."""
        permohonan, today, knobs = call.payload, call.today, call.knobs
        assert isinstance(knobs, PolriKnobs)
        layanan = permohonan.layanan
        registrasi = nomor_registrasi(layanan, urutan, today)
        tanda = native.TandaTerima(nomor_registrasi=registrasi, layanan=layanan, diterima_pada=call.now)
        envelope = {"nomor_registrasi": registrasi, "id_permintaan": call.key, "layanan": layanan.value}
        state = {
            "layanan": layanan.value,
            "nomor_registrasi": registrasi,
            "callback_url": permohonan.callback_url,
            "pemberitahuan": [envelope | isi for isi in PUTUSAN[type(permohonan)](permohonan, urutan, today)],
            "gangguan": {
                "verdict_delay_ms": knobs.verdict_delay_ms,
                "duplicate_callback": knobs.duplicate_callback,
                "verdict_fault": knobs.verdict_fault.value if knobs.verdict_fault else None,
                "callback_max_attempts": knobs.callback_max_attempts,
                "callback_backoff_ms": knobs.callback_backoff_ms,
            },
            "diterima_epoch": time.time(),  # wall clock: due times survive a restart
            "terkirim": 0,
            "status_pengiriman": "MENUNGGU",
            "percobaan": [],
        }
        return sim.Produced(tanda.model_dump(mode="json"), state)

    def setelah(self, call: sim.Call[Any], result: sim.LedgerResult) -> None:
        """Deliver what is still to deliver: a new application's callbacks, or those a
        restart interrupted when the caller repeats the application."""
        assert result.entry is not None
        if result.entry.state.get("status_pengiriman") == "MENUNGGU":
            self.jadwalkan(result.entry.key)

    # -- calling back

    def jadwalkan(self, key: str) -> None:
        """Start delivering ``key``'s callbacks unless that is already under way."""
        task = self._tasks.get(key)
        if task is not None and not task.done():
            return
        self._tasks[key] = asyncio.get_running_loop().create_task(self._kirim_semua(key), name=f"polri-callback:{key}")

    def lanjutkan_tertunda(self) -> int:
        """Resume deliveries a restart interrupted; returns how many."""
        tertunda = [e.key for e in self.ledger.entries() if e.state.get("status_pengiriman") == "MENUNGGU"]
        for key in tertunda:
            self.jadwalkan(key)
        return len(tertunda)

    async def _kirim_semua(self, key: str) -> None:
        entry = self.ledger.get(key)
        if entry is None:
            return
        state = dict(entry.state)
        pesan: list[dict[str, Any]] = state["pemberitahuan"]
        gangguan: dict[str, Any] = state["gangguan"]
        jeda = gangguan["verdict_delay_ms"] / 1000 / len(pesan)
        diterima = float(state["diterima_epoch"])
        fault = VerdiktRusak(gangguan["verdict_fault"]) if gangguan["verdict_fault"] else None
        gagal = False
        try:
            while state["terkirim"] < len(pesan):
                nomor = state["terkirim"]
                await asyncio.sleep(max(0.0, diterima + jeda * (nomor + 1) - time.time()))
                isi = pesan[nomor] | {"waktu": self.now().isoformat()}
                body = rusak(isi, fault if nomor == len(pesan) - 1 else None)
                if not await self._kirim(key, state, nomor, body, gangguan):
                    gagal = True
                state["terkirim"] = nomor + 1
                self.ledger.update_state(key, state)
            state["status_pengiriman"] = "GAGAL" if gagal else "SELESAI"
            self.ledger.update_state(key, state)
        except Exception:  # a simulator bug must be visible in its log, not a silent dead task
            log.exception("callback delivery for %s crashed; it stays MENUNGGU and resumes on restart", key)

    async def _kirim(self, key: str, state: dict[str, Any], nomor: int, body: bytes, gangguan: dict[str, Any]) -> bool:
        """Deliver one callback with bounded retries; True once the hub answered (2xx/4xx)."""
        http = self._client()
        signed_at = time.monotonic()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, key, body), native.HEADER_REQUEST_ID: key}
        for ke in range(1, gangguan["callback_max_attempts"] + 1):
            if time.monotonic() - signed_at > TANDA_TANGAN_BARU_SETELAH:
                headers[SIGNATURE_HEADER], signed_at = sign(self.secret, key, body), time.monotonic()
            kode = await self._post(http, state, nomor, ke, body, headers, duplikat=False)
            self.ledger.update_state(key, state)
            if kode is not None and kode < 500:
                if 200 <= kode < 300 and gangguan["duplicate_callback"]:
                    await self._post(http, state, nomor, ke, body, headers, duplikat=True)
                    self.ledger.update_state(key, state)
                return True
            if ke < gangguan["callback_max_attempts"]:
                await asyncio.sleep(min(gangguan["callback_backoff_ms"] / 1000 * 2 ** (ke - 1), BACKOFF_MAKS_DETIK))
        return False

    async def _post(
        self, http: httpx.AsyncClient, state: dict[str, Any], nomor: int, ke: int, body: bytes, headers: dict[str, str], *, duplikat: bool
    ) -> int | None:
        kode: int | None = None
        galat_kirim: str | None = None
        try:
            kode = (await http.post(state["callback_url"], content=body, headers=headers)).status_code
        except httpx.HTTPError as exc:
            galat_kirim = type(exc).__name__
        state["percobaan"].append(
            {
                "pesan": nomor,
                "ke": ke,
                "duplikat": duplikat,
                "http_status": kode,
                "galat": galat_kirim,
                "waktu": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
        )
        return kode

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self._transport, timeout=5.0)
        return self._http

    async def menunggu_pengiriman(self) -> None:
        """Wait for every delivery under way (tests)."""
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop deliveries (they stay MENUNGGU in a file ledger and resume on restart)."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self.ledger.close()


def create_app(
    knobs: PolriKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    callback_secret: str = DEV_CALLBACK_SECRET,
    clock: sim.Clock | None = None,
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build a simulator app with its own ledger, knobs, random and deliveries.

    ``clock`` (aware datetimes) lets tests pin the day for expiry rules;
    ``callback_transport`` lets tests receive callbacks without a network. Under
    transports that skip lifespan (``httpx.ASGITransport``) call
    ``app.state.polri.aclose()`` when done.
    """
    runtime = sim.SimulatorRuntime.open(knobs or PolriKnobs(), ledger_path=ledger_path, clock=clock)
    polri = PolriSimulator(runtime, secret=callback_secret, callback_transport=callback_transport)

    async def lanjutkan() -> None:
        if resumed := polri.lanjutkan_tertunda():
            log.info("resuming %d pending Polri callbacks", resumed)

    simulator = sim.Simulator(
        runtime,
        DialekPolri(runtime),
        polri.operasi(),
        title="Polri backend simulator",
        description="Native Polri API (SKCK, SIM renewal, vehicle check, SPKT loss report) with signed verdict callbacks, for mpp-hub adapter tests.",
        on_startup=[lanjutkan],
        on_shutdown=[polri.aclose],
    )
    simulator.app.state.polri = polri
    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator polri` (and the plug-in) starts: ``options.secrets["callback_secret"]``
    signs the callbacks; the hub passes the secret it verifies with (``MPP_AGENCIES__POLRI__CALLBACK_SECRET``)."""
    return create_app(ledger_path=options.ledger_path, callback_secret=options.secrets.get(SECRET_NAME, DEV_CALLBACK_SECRET))
