"""A stand-in for Samsat's backend: a separate HTTP service speaking Samsat's native API.

Why it exists: the Samsat adapter must be developed and fault-tested against something
that behaves like the real, foreign system -- its own Indonesian field names, its own
error shape, its own idempotency contract, and its bad days (slowness, overload,
outages, replies lost after the work was done, daily quotas). Talking to the real
Samsat from tests is neither possible nor desirable.

It deliberately imports nothing from ``hub`` or ``schemas`` (it imitates a system we do
not control) and uses only the stdlib, FastAPI, pydantic and sqlite3.

Native API
==========

``POST /api/v1/pkb/pengesahan``
    Annual PKB (vehicle tax) payment + STNK annual endorsement. Header
    ``Idempotency-Key`` is required (the hub passes its step id). Body:
    :class:`~adapters.samsat.native.PermohonanPengesahan`; 200 reply:
    :class:`~adapters.samsat.native.HasilPengesahan`; every error reply:
    :class:`~adapters.samsat.native.GalatSamsat` (``{"status": "GAGAL", "kode_error",
    "pesan"}``).

Simulated business rules (deterministic, so tests can aim at them):

* **Unregistered plates**: a plate whose serial (the number in the middle) is above
  9000 -- i.e. 9001..9999 -- is not in the register: 404 ``NOPOL_TIDAK_TERDAFTAR``.
* **Owner mismatch**: a ``nik_pemilik`` ending in ``"99"`` is not the registered owner
  of the vehicle: 409 ``NIK_TIDAK_SESUAI``.
* **Fees**: SWDKLLJ Rp143,000 (MOBIL) / Rp35,000 (MOTOR); endorsement fee Rp50,000
  (MOBIL) / Rp25,000 (MOTOR) per PP 60/2016; PKB is a stand-in derived from a hash
  of the plate: Rp1,000,000..5,000,000 for cars, Rp150,000..600,000 for motorcycles,
  in whole thousands (the real PKB is a provincial % of the vehicle's value).
* ``berlaku_sampai`` = endorsement date + 1 year (29 Feb -> 28 Feb); dates are local
  (WIB, UTC+7) because Samsat counters work on local days.
* Malformed input (bad JSON, wrong pattern, unknown field): 422 ``DATA_TIDAK_VALID``
  with a ``kesalahan`` list.

Idempotency (the contract the hub's at-most-once story relies on):

* Each ``Idempotency-Key`` is applied at most once. The first request with a key
  applies the operation and stores the full reply in the ledger.
* A repeat with the same key and the same body (compared after parsing, so key order
  and whitespace do not matter) gets the stored reply byte for byte, with header
  ``Idempotent-Replayed: true``; the entry's replay counter goes up; nothing is
  applied again.
* The same key with a different body: 409 ``KUNCI_SUDAH_DIPAKAI``.
* Only successful applications are recorded. Refusals (404/409/429) and failures
  before applying (503) are not, so a retry after the cause is gone can still apply.
* The ledger is SQLite. The check-and-insert runs under a process-wide lock inside a
  ``BEGIN IMMEDIATE`` transaction with a UNIQUE key, so concurrent requests -- even
  from two simulator processes on the same file -- apply once.

Control plane (``/_sim/...``; never affected by ``down``, latency or errors):

* ``GET /_sim/health`` -> ``{"ok": true}``
* ``GET /_sim/ledger`` -> ``{"entries": [{"key", "operation", "nopol", "applied_at",
  "replays"}], "applied": n, "replayed": n}``
* ``GET /_sim/knobs`` -> current :class:`SimulatorSettings`;
  ``PUT /_sim/knobs`` -> partial update (any subset of the fields), returns the result.

Knobs (:class:`SimulatorSettings`), applied to native requests in this order:
``down`` (503 ``SISTEM_TIDAK_TERSEDIA``), ``latency_ms`` (delay), idempotency-key
check (400), ``error_rate`` (503 ``SISTEM_SIBUK`` + ``Retry-After: 1``, before
anything is applied), body validation (422), ledger replay/conflict, business rules
(404/409), ``daily_quota`` (429 ``KUOTA_HABIS``), apply + record, then
``drop_reply_after_apply`` (504 ``WAKTU_HABIS`` *after* the operation was applied and
recorded: execute-then-timeout; a retry with the same key gets the stored reply).
``seed`` seeds the simulator's own ``random.Random``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Final

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.samsat.native import (
    BIAYA_PENGESAHAN,
    HEADER_IDEMPOTENCY_KEY,
    HEADER_IDEMPOTENT_REPLAYED,
    PATH_PENGESAHAN,
    SWDKLLJ,
    GalatSamsat,
    HasilPengesahan,
    JenisKendaraan,
    KodeError,
    PermohonanPengesahan,
    RincianBiaya,
)

#: Samsat counters in Sumatera Barat work on Western Indonesia Time (UTC+7, no DST).
#: A fixed offset avoids depending on the system tz database.
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")

#: Name of the operation as recorded in the ledger.
OPERASI_PENGESAHAN: Final[str] = "PKB_PENGESAHAN"

#: Longest idempotency key accepted; the hub's step ids are far shorter.
MAX_PANJANG_KEY: Final[int] = 200

#: Plates with a serial above this are "unregistered" in the simulator.
BATAS_SERIAL_TERDAFTAR: Final[int] = 9000

#: Stand-in PKB ranges per vehicle class, rupiah, inclusive, step 1,000.
RENTANG_PKB: Final[dict[JenisKendaraan, tuple[int, int]]] = {
    JenisKendaraan.MOBIL: (1_000_000, 5_000_000),
    JenisKendaraan.MOTOR: (150_000, 600_000),
}


class SimulatorSettings(BaseModel):
    """Realism knobs for fault tests, changeable at runtime via ``PUT /_sim/knobs``.

    Unknown fields are refused so a typo in a fault test fails loudly instead of
    silently testing the happy path.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Delay added to each native request.")
    error_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Fraction answered 503 SISTEM_SIBUK before applying anything."
    )
    down: bool = Field(default=False, description="Every native request gets 503 SISTEM_TIDAK_TERSEDIA.")
    drop_reply_after_apply: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Fraction applied and recorded, then answered 504 instead."
    )
    daily_quota: int | None = Field(default=None, ge=0, description="Max applications per local (WIB) day.")
    seed: int = Field(default=0, description="Seed of the simulator's own random.Random.")
    ledger_path: str = Field(
        default=":memory:", min_length=1, description="SQLite file for the ledger; fixed for the app's lifetime."
    )


# --------------------------------------------------------------------------- ledger


@dataclass(frozen=True, slots=True)
class CatatanLedger:
    """One applied operation, with the exact reply that was (or should have been) sent."""

    key: str
    operation: str
    nopol: str
    fingerprint: str
    status_code: int
    body: bytes
    applied_at: str
    replays: int


_SKEMA: Final[str] = """
CREATE TABLE IF NOT EXISTS ledger (
    id          INTEGER PRIMARY KEY,
    idem_key    TEXT    NOT NULL UNIQUE,
    operation   TEXT    NOT NULL,
    nopol       TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status_code INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    applied_at  TEXT    NOT NULL,
    applied_on  TEXT    NOT NULL,
    replays     INTEGER NOT NULL DEFAULT 0
)
"""


class Ledger:
    """Apply-once ledger of idempotency keys in SQLite.

    One connection per ledger, guarded by a lock, because ``:memory:`` databases are
    per-connection and Python's sqlite3 connections are not safe to share unguarded.
    Writes go through :meth:`transaction`, which holds the lock *and* an SQLite
    ``BEGIN IMMEDIATE`` write lock, so "look up the key, then insert" is atomic both
    within this process and against another process using the same file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (autocommit otherwise).
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        with self._lock:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(_SKEMA)

    def close(self) -> None:
        """Release the connection (a file ledger keeps everything on disk)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[_Transaksi]:
        """Run a block atomically: commit on normal exit (including ``return``), else roll back."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaksi(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def entries(self) -> list[CatatanLedger]:
        """All applied operations, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT idem_key, operation, nopol, fingerprint, status_code, body, applied_at, replays "
                "FROM ledger ORDER BY id"
            ).fetchall()
        return [_catatan(row) for row in rows]


class _Transaksi:
    """The statements the endpoint needs, valid only inside :meth:`Ledger.transaction`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def find(self, key: str) -> CatatanLedger | None:
        row = self._conn.execute(
            "SELECT idem_key, operation, nopol, fingerprint, status_code, body, applied_at, replays "
            "FROM ledger WHERE idem_key = ?",
            (key,),
        ).fetchone()
        return None if row is None else _catatan(row)

    def count_replay(self, key: str) -> None:
        self._conn.execute("UPDATE ledger SET replays = replays + 1 WHERE idem_key = ?", (key,))

    def applied_on(self, day: date) -> int:
        (n,) = self._conn.execute("SELECT COUNT(*) FROM ledger WHERE applied_on = ?", (day.isoformat(),)).fetchone()
        return int(n)

    def next_sequence(self) -> int:
        (n,) = self._conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()
        return int(n)

    def insert(
        self,
        *,
        sequence: int,
        key: str,
        operation: str,
        nopol: str,
        fingerprint: str,
        status_code: int,
        body: bytes,
        applied_at: datetime,
    ) -> None:
        # The UNIQUE constraint on idem_key is the last line of defence: if the lock
        # discipline were ever broken this raises instead of applying twice.
        self._conn.execute(
            "INSERT INTO ledger (id, idem_key, operation, nopol, fingerprint, status_code, body, "
            "applied_at, applied_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sequence,
                key,
                operation,
                nopol,
                fingerprint,
                status_code,
                body.decode("utf-8"),
                applied_at.isoformat(timespec="milliseconds"),
                applied_at.date().isoformat(),
            ),
        )


def _catatan(row: tuple[Any, ...]) -> CatatanLedger:
    key, operation, nopol, fingerprint, status_code, body, applied_at, replays = row
    return CatatanLedger(
        key=key,
        operation=operation,
        nopol=nopol,
        fingerprint=fingerprint,
        status_code=int(status_code),
        body=str(body).encode("utf-8"),
        applied_at=applied_at,
        replays=int(replays),
    )


# ------------------------------------------------------------------ business rules


def hitung_pkb(nopol: str, jenis: JenisKendaraan) -> int:
    """Deterministic stand-in PKB for a plate: same plate, same tax, on every run.

    A stable hash (not Python's salted ``hash``) keeps it reproducible across
    processes, which the adapter's tests rely on.
    """
    lo, hi = RENTANG_PKB[jenis]
    h = int.from_bytes(hashlib.sha256(nopol.encode("utf-8")).digest()[:8], "big")
    return lo + (h % ((hi - lo) // 1000 + 1)) * 1000


def serial_nopol(nopol: str) -> int:
    """The number in the middle of a plate (``BA 1234 LZ`` -> 1234)."""
    return int(nopol.split(" ")[1])


def nopol_terdaftar(nopol: str) -> bool:
    """Simulated register: serials 1..9000 exist, 9001..9999 are unregistered plates."""
    return serial_nopol(nopol) <= BATAS_SERIAL_TERDAFTAR


def nik_pemilik_sesuai(nik: str) -> bool:
    """Simulated owner check: a NIK ending in "99" is not the vehicle's registered owner."""
    return not nik.endswith("99")


def kode_bayar_untuk(key: str, nopol: str) -> str:
    """A 15-digit billing code starting with 8 (SIMPONI-style), stable per key and plate."""
    h = int.from_bytes(hashlib.sha256(f"{key}|{nopol}".encode()).digest()[:8], "big")
    return "8" + f"{h % 10**14:014d}"


def tambah_satu_tahun(day: date) -> date:
    """Same calendar day next year; 29 Feb becomes 28 Feb."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def buat_hasil(permohonan: PermohonanPengesahan, *, key: str, sequence: int, today: date) -> HasilPengesahan:
    """Compute the success reply: fees, totals, validity and Samsat's own numbers."""
    jenis = permohonan.jenis_kendaraan
    rincian = RincianBiaya(
        pkb=hitung_pkb(permohonan.nopol, jenis),
        swdkllj=SWDKLLJ[jenis],
        biaya_pengesahan=BIAYA_PENGESAHAN[jenis],
    )
    return HasilPengesahan(
        nopol=permohonan.nopol,
        kode_bayar=kode_bayar_untuk(key, permohonan.nopol),
        rincian=rincian,
        total_bayar=rincian.pkb + rincian.swdkllj + rincian.biaya_pengesahan,
        berlaku_sampai=tambah_satu_tahun(today),
        tanggal_pengesahan=today,
        no_transaksi=f"SMS-BA-{today:%Y%m%d}-{sequence:06d}",
    )


def sidik_jari(permohonan: PermohonanPengesahan) -> str:
    """Fingerprint of a request *after* parsing, so "same body" ignores key order and spacing."""
    kanonik = json.dumps(permohonan.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
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
    """Samsat's error shape, used for every non-2xx reply so the adapter has one parser."""
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


# -------------------------------------------------------------------------- state


class _Keadaan:
    """Mutable per-app state: the knobs, the seeded random and the ledger."""

    def __init__(self, settings: SimulatorSettings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.ledger = Ledger(settings.ledger_path)
        self.clock = clock

    def now(self) -> datetime:
        """Current local (WIB) time; the clock is injectable so quota tests can change day."""
        return self.clock().astimezone(WIB)

    def roll(self, rate: float) -> bool:
        """True with probability ``rate``; never consumes randomness when rate is 0."""
        return rate > 0 and self.rng.random() < rate


def _jam_sistem() -> datetime:
    return datetime.now(WIB)


# ---------------------------------------------------------------------------- app


def create_app(
    settings: SimulatorSettings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build a simulator app with its own ledger, knobs and random.

    ``clock`` (an aware-datetime factory) exists for tests that need to cross a day
    boundary; by default the system clock in WIB is used. The ledger is opened here,
    not at startup, so the app also works under transports that skip lifespan events
    (e.g. ``httpx.ASGITransport``); it is closed on shutdown when lifespan runs.
    """
    keadaan = _Keadaan(settings or SimulatorSettings(), clock or _jam_sistem)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            keadaan.ledger.close()

    app = FastAPI(
        title="Samsat backend simulator",
        description="Native Samsat API (PKB payment + STNK endorsement) for mpp-hub adapter tests.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.simulator = keadaan

    @app.exception_handler(RequestValidationError)
    async def _validasi(_: Request, exc: RequestValidationError) -> JSONResponse:
        return galat(
            422, KodeError.DATA_TIDAK_VALID, "Data permohonan tidak valid.", kesalahan=_uraikan_galat_validasi(exc)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kode = {404: KodeError.TIDAK_DITEMUKAN, 405: KodeError.METODE_TIDAK_DIIZINKAN}.get(
            exc.status_code, KodeError.GALAT_INTERNAL
        )
        return galat(exc.status_code, kode, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.post(PATH_PENGESAHAN)
    async def pengesahan(request: Request) -> Response:
        """Annual PKB payment + STNK endorsement, applied at most once per Idempotency-Key."""
        knob = keadaan.settings  # one consistent view of the knobs for this request
        if knob.down:
            return galat(503, KodeError.SISTEM_TIDAK_TERSEDIA, "Sistem Samsat sedang tidak tersedia.")
        if knob.latency_ms:
            await asyncio.sleep(knob.latency_ms / 1000)

        key = request.headers.get(HEADER_IDEMPOTENCY_KEY)
        if key is None or not key.strip():
            return galat(400, KodeError.IDEMPOTENCY_KEY_WAJIB, "Header Idempotency-Key wajib diisi.")
        if len(key) > MAX_PANJANG_KEY or not key.isprintable():
            return galat(
                400,
                KodeError.IDEMPOTENCY_KEY_TIDAK_VALID,
                f"Idempotency-Key harus berupa teks tercetak, maksimal {MAX_PANJANG_KEY} karakter.",
            )

        if keadaan.roll(knob.error_rate):
            return galat(
                503, KodeError.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", headers={"Retry-After": "1"}
            )

        try:
            permohonan = PermohonanPengesahan.model_validate_json(await request.body())
        except ValidationError as exc:
            return galat(
                422, KodeError.DATA_TIDAK_VALID, "Data permohonan tidak valid.", kesalahan=_uraikan_galat_validasi(exc)
            )
        sidik = sidik_jari(permohonan)
        now = keadaan.now()

        # Everything from the key lookup to the insert is one atomic unit (no awaits).
        with keadaan.ledger.transaction() as tx:
            lama = tx.find(key)
            if lama is not None:
                if lama.fingerprint != sidik:
                    return galat(
                        409,
                        KodeError.KUNCI_SUDAH_DIPAKAI,
                        "Idempotency-Key sudah dipakai untuk permohonan lain.",
                    )
                tx.count_replay(key)
                return Response(
                    content=lama.body,
                    status_code=lama.status_code,
                    media_type="application/json",
                    headers={HEADER_IDEMPOTENT_REPLAYED: "true"},
                )

            if not nopol_terdaftar(permohonan.nopol):
                return galat(
                    404,
                    KodeError.NOPOL_TIDAK_TERDAFTAR,
                    f"Nomor polisi {permohonan.nopol} tidak terdaftar.",
                )
            if not nik_pemilik_sesuai(permohonan.nik_pemilik):
                return galat(
                    409,
                    KodeError.NIK_TIDAK_SESUAI,
                    "NIK tidak sesuai dengan pemilik kendaraan yang terdaftar.",
                )
            if knob.daily_quota is not None and tx.applied_on(now.date()) >= knob.daily_quota:
                return galat(
                    429,
                    KodeError.KUOTA_HABIS,
                    "Kuota pengesahan hari ini sudah habis.",
                    headers={"Retry-After": str(_detik_sampai_tengah_malam(now))},
                )

            urutan = tx.next_sequence()
            hasil = buat_hasil(permohonan, key=key, sequence=urutan, today=now.date())
            isi = hasil.model_dump_json().encode("utf-8")
            tx.insert(
                sequence=urutan,
                key=key,
                operation=OPERASI_PENGESAHAN,
                nopol=permohonan.nopol,
                fingerprint=sidik,
                status_code=200,
                body=isi,
                applied_at=now,
            )

        if keadaan.roll(knob.drop_reply_after_apply):
            # Execute-then-timeout: the work is done and recorded, the caller never hears.
            return galat(504, KodeError.WAKTU_HABIS, "Batas waktu habis sebelum balasan terkirim.")
        return Response(content=isi, status_code=200, media_type="application/json")

    @app.get("/_sim/health")
    async def health() -> dict[str, bool]:
        """Liveness of the simulator process itself (ignores the ``down`` knob)."""
        return {"ok": True}

    @app.get("/_sim/ledger")
    async def ledger() -> dict[str, Any]:
        """What was applied and how often it was replayed: the ground truth for tests."""
        entries = keadaan.ledger.entries()
        return {
            "entries": [
                {"key": e.key, "operation": e.operation, "nopol": e.nopol, "applied_at": e.applied_at, "replays": e.replays}
                for e in entries
            ],
            "applied": len(entries),
            "replayed": sum(e.replays for e in entries),
        }

    @app.get("/_sim/knobs")
    async def get_knobs() -> dict[str, Any]:
        """Current knobs."""
        return keadaan.settings.model_dump(mode="json")

    @app.put("/_sim/knobs")
    async def put_knobs(request: Request) -> Response:
        """Partial update of the knobs; refuses unknown fields and a different ledger_path."""
        try:
            patch = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            return galat(422, KodeError.DATA_TIDAK_VALID, "Body bukan JSON.", kesalahan=[str(exc)])
        if not isinstance(patch, dict):
            return galat(422, KodeError.DATA_TIDAK_VALID, "Body harus objek JSON.")
        try:
            baru = SimulatorSettings.model_validate({**keadaan.settings.model_dump(), **patch})
        except ValidationError as exc:
            return galat(
                422, KodeError.DATA_TIDAK_VALID, "Knob tidak valid.", kesalahan=_uraikan_galat_validasi(exc)
            )
        if baru.ledger_path != keadaan.settings.ledger_path:
            return galat(
                422,
                KodeError.DATA_TIDAK_VALID,
                "ledger_path tidak dapat diubah saat simulator berjalan.",
                kesalahan=["ledger_path: fixed for the app's lifetime"],
            )
        if "seed" in patch:
            keadaan.rng.seed(baru.seed)  # a re-seed restarts the random sequence, for reproducible tests
        keadaan.settings = baru
        return JSONResponse(baru.model_dump(mode="json"))

    return app


def run_simulator(host: str, port: int, settings: SimulatorSettings) -> None:
    """Serve the simulator until interrupted (blocking); used by dev scripts and fault tests."""
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.samsat.simulator --port 8701 --ledger /tmp/samsat.db``."""
    parser = argparse.ArgumentParser(description="Samsat backend simulator (native API).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--ledger", default=":memory:", help="SQLite file for the ledger (default in-memory).")
    parser.add_argument("--knobs", default="{}", help='Initial knobs as JSON, e.g. \'{"error_rate": 0.1}\'.')
    args = parser.parse_args(argv)
    settings = SimulatorSettings.model_validate({**json.loads(args.knobs), "ledger_path": args.ledger})
    run_simulator(args.host, args.port, settings)


if __name__ == "__main__":
    main()
