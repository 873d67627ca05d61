"""A stand-in for Dukcapil's NIK verification web service.

Why it exists: the Dukcapil adapter must be built and fault-tested against something
that behaves like the real, foreign system -- its API key, its request ids, its
Indonesian field names, its day-first dates and offset-less WIB timestamps, and its bad
days (slowness, overload, outages, replies lost after the access was logged, garbage
from a gateway, an access quota). It imports nothing from ``hub``; the request
pipeline, fault knobs, apply-once ledger, clock and control endpoints come from the
SDK's simulator scaffold (``adapters.sdk.testing.scaffold``), so every common knob works
the way the contract kit expects; Dukcapil's protocol is its dialect
(:class:`DialekDukcapil`).

Native API
==========

``POST /api/v1/kependudukan/verifikasi-nik``
    Headers ``X-Api-Key`` (required; 401 ``API_KEY_TIDAK_VALID`` otherwise) and
    ``X-Request-Id`` (required, 1-100 of ``A-Z a-z 0-9 . _ : -``; 400
    ``REQUEST_ID_WAJIB``). Body :class:`~mpp_dukcapil.native.PermintaanVerifikasi`;
    200 reply :class:`~mpp_dukcapil.native.JawabanVerifikasi`; every error reply
    :class:`~mpp_dukcapil.native.GalatDukcapil` (``{"respon": "GAGAL", "kode", "pesan"}``).
    ``X-Request-Id`` is echoed on every reply.

Simulated register (deterministic, so tests can aim at it; serial = last 4 NIK digits):

* A few seeded residents (:data:`PENDUDUK_CONTOH`) with full records, e.g.
  ``1375015203900007`` SITI RAHMAWATI, born 12-03-1990 (the hub's fictitious
  example NIK, docs/domain-sources.md), and ``1375020107850003`` RIZAL EFENDI, who
  moved to Kab. Agam: his domicile (13.06.05) differs from his NIK's prefix
  (13.75.02), which only records the place of first registration.
* Any other NIK is a synthetic resident whose record is derived from the NIK:
  - serial **>= 9000**: not registered -> 404 ``NIK_TIDAK_TERDAFTAR`` (so is a NIK whose
    birth date or region codes cannot exist);
  - serial **8900-8949**: record **DIBLOKIR** (blocked, e.g. a duplicate NIK being
    cleansed); serial **8950-8999**: **MENINGGAL** (death registered). Both answer 200
    with only ``status_data`` disclosed -- Dukcapil tells a verifier *that* a record
    cannot be used, nothing else;
  - serial **8000-8499**: the registered name is :data:`NAMA_TERCATAT_BERBEDA`, so any
    name given is ``TIDAK_SESUAI``;
  - otherwise the register holds the name the caller gives (the simulator cannot know
    every invented test name) and the birth date encoded in the NIK (day + 40 for
    women; 20YY unless that is in the future, else 19YY).
* Names are compared after normalisation (upper case, letters and spaces only, runs of
  spaces collapsed); ``skor_nama`` is a 0-100 similarity and the name is ``SESUAI`` from
  the knob ``skor_minimal_nama`` (default 90) up. ``tgl_lahir`` is ``TIDAK_DIPERIKSA``
  when not sent.
* Domicile (``no_prop``/``no_kab``/``no_kec``, plain integers as in Dukcapil's data) and
  the KK number (region of the NIK + an issue date DDMMYY + serial [I]) are
  disclosed for ``AKTIF`` records only.

Idempotency: each ``X-Request-Id`` is applied once (every verification is an entry in
the access log and counts against the quota). A repeat with the same body gets the
stored reply, with ``X-Idempotent-Replay: true`` and the original ``waktu_verifikasi``;
another body with the same id: 409 ``REQUEST_ID_SUDAH_DIPAKAI``. Refusals (401, 400,
422, 404, 429) and faults before applying (503) are not logged, so a retry after the
cause is gone can still apply.

Knobs (:class:`DukcapilKnobs`, the scaffold's plus ``skor_minimal_nama``), in order:
``down`` (503 ``LAYANAN_TIDAK_TERSEDIA``, ``Retry-After: 5``), ``latency_ms``,
``error_rate`` (503 ``LAYANAN_SIBUK``, ``Retry-After: 1``), then API key, request id,
body, ledger (replay or 409; ``daily_quota`` per WIB day -> 429 ``KUOTA_AKSES_HABIS``
with ``Retry-After`` until midnight), register (404), and after a fresh application
``drop_reply_after_apply`` (504 ``WAKTU_HABIS``: logged, reply lost) or ``garble_rate``
(HTTP 200 with an HTML gateway page instead of JSON). Control plane: ``/_sim/health``,
``/_sim/ledger``, ``/_sim/knobs`` (the scaffold's).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import Field, ValidationError

from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from mpp_dukcapil import DEV_API_KEY, native

#: Operation name in the ledger.
OPERASI_VERIFIKASI: Final[str] = "VERIFIKASI_NIK"

#: Accepted request ids; the hub's step ids (UUIDs) fit easily.
POLA_REQUEST_ID: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

#: Serial ranges of the synthetic register (see the module docstring).
SERIAL_TIDAK_TERDAFTAR: Final[int] = 9000
SERIAL_DIBLOKIR: Final[range] = range(8900, 8950)
SERIAL_MENINGGAL: Final[range] = range(8950, 9000)
SERIAL_NAMA_BERBEDA: Final[range] = range(8000, 8500)
NAMA_TERCATAT_BERBEDA: Final[str] = "NAMA TERCATAT BERBEDA"


class DukcapilKnobs(sim.Knobs):
    """The toolkit's fault knobs plus Dukcapil's own."""

    skor_minimal_nama: int = Field(default=90, ge=0, le=100, description="Name similarity (0-100) from which a name is SESUAI.")


@dataclass(frozen=True, slots=True)
class CatatanPenduduk:
    """One record of the simulated register. ``nama=None``: a synthetic record that
    holds whatever name it is asked about."""

    nik: str
    nama: str | None
    tgl_lahir: date
    no_kk: str
    no_prop: int
    no_kab: int
    no_kec: int
    status: native.StatusData


#: Seeded residents of Bukittinggi (codes per Kepmendagri 300.2.2-2138/2025; names are fictitious).
PENDUDUK_CONTOH: Final[dict[str, CatatanPenduduk]] = {
    r.nik: r
    for r in (
        CatatanPenduduk("1375015203900007", "SITI RAHMAWATI", date(1990, 3, 12), "1375011503150021", 13, 75, 1, native.StatusData.AKTIF),
        # First registered in Mandiangin Koto Selayan, now lives in Kab. Agam (13.06.05 [I]).
        CatatanPenduduk("1375020107850003", "RIZAL EFENDI", date(1985, 7, 1), "1306052001200007", 13, 6, 5, native.StatusData.AKTIF),
        CatatanPenduduk("1375034506720012", "ROSMANIAR", date(1972, 6, 5), "1375030911980004", 13, 75, 3, native.StatusData.MENINGGAL),
        CatatanPenduduk("1375031008950044", "ANDI SAPUTRA", date(1995, 8, 10), "1375032204190011", 13, 75, 3, native.StatusData.DIBLOKIR),
    )
}


# ------------------------------------------------------------------ the register


def tanggal_lahir_dari_nik(nik: str, today: date) -> date | None:
    """The birth date a NIK encodes (DD + 40 for women), or None if it cannot exist."""
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40
    for year in (2000 + yy, 1900 + yy):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def no_kk_untuk(nik: str) -> str:
    """A stable KK number for a synthetic resident: region + issue date DDMMYY + serial."""
    h = int.from_bytes(hashlib.sha256(f"kk|{nik}".encode()).digest()[:8], "big")
    issued = date(2010, 1, 1).toordinal() + h % 5000  # some day in 2010-2023
    return f"{nik[:6]}{date.fromordinal(issued):%d%m%y}{(h >> 20) % 9999 + 1:04d}"


def cari_penduduk(nik: str, today: date) -> CatatanPenduduk | None:
    """The record of a NIK, or None when it is not registered."""
    if nik in PENDUDUK_CONTOH:
        return PENDUDUK_CONTOH[nik]
    serial = int(nik[12:])
    prop, kab, kec = int(nik[0:2]), int(nik[2:4]), int(nik[4:6])
    lahir = tanggal_lahir_dari_nik(nik, today)
    if serial >= SERIAL_TIDAK_TERDAFTAR or serial == 0 or prop < 11 or kab == 0 or kec == 0 or lahir is None:
        return None
    if serial in SERIAL_DIBLOKIR:
        status = native.StatusData.DIBLOKIR
    elif serial in SERIAL_MENINGGAL:
        status = native.StatusData.MENINGGAL
    else:
        status = native.StatusData.AKTIF
    nama = NAMA_TERCATAT_BERBEDA if serial in SERIAL_NAMA_BERBEDA else None
    return CatatanPenduduk(nik, nama, lahir, no_kk_untuk(nik), prop, kab, kec, status)


def normalisasi_nama(nama: str) -> str:
    """``"Siti  Rahmawati, S.Pd."`` -> ``"SITI RAHMAWATI SPD"``: case, punctuation and spacing do not count."""
    letters = re.sub(r"[^A-Z ]", "", nama.upper())
    return " ".join(letters.split())


def skor_nama(diberikan: str, tercatat: str | None) -> int:
    """Similarity 0-100 of a given name to the registered one (100 for a synthetic record)."""
    if tercatat is None:
        return 100
    return int(difflib.SequenceMatcher(None, normalisasi_nama(diberikan), normalisasi_nama(tercatat)).ratio() * 100)


def samarkan(nik: str) -> str:
    """The ledger's subject: never a whole NIK (region kept, rest hidden)."""
    return nik[:4] + "*" * 10 + nik[-2:]


def buat_jawaban(
    permintaan: native.PermintaanVerifikasi, penduduk: CatatanPenduduk, *, sequence: int, now: datetime, skor_minimal: int
) -> native.JawabanVerifikasi:
    """The verification answer for a registered NIK."""
    if penduduk.status is not native.StatusData.AKTIF:
        data = native.DataVerifikasi(nik=penduduk.nik, status_data=penduduk.status.value)
    else:
        skor = skor_nama(permintaan.nama_lengkap, penduduk.nama)
        if permintaan.tgl_lahir is None:
            hasil_tgl = native.HasilPadanan.TIDAK_DIPERIKSA
        elif permintaan.tgl_lahir == penduduk.tgl_lahir.strftime(native.FORMAT_TANGGAL):
            hasil_tgl = native.HasilPadanan.SESUAI
        else:
            hasil_tgl = native.HasilPadanan.TIDAK_SESUAI
        data = native.DataVerifikasi(
            nik=penduduk.nik,
            status_data=penduduk.status.value,
            hasil_nama=native.HasilPadanan.SESUAI if skor >= skor_minimal else native.HasilPadanan.TIDAK_SESUAI,
            skor_nama=skor,
            hasil_tgl_lahir=hasil_tgl,
            no_kk=penduduk.no_kk,
            no_prop=penduduk.no_prop,
            no_kab=penduduk.no_kab,
            no_kec=penduduk.no_kec,
        )
    local = now.astimezone(native.WIB)
    return native.JawabanVerifikasi(id_transaksi=f"DKC-{local:%Y%m%d}-{sequence:07d}", waktu_verifikasi=native.tulis_waktu(now), data=data)


# ------------------------------------------------------------------ the operation


def harus_terdaftar(call: sim.Call[native.PermintaanVerifikasi]) -> None:
    if cari_penduduk(call.payload.nik, call.today) is None:
        raise sim.Refusal(native.KodeGalat.NIK_TIDAK_TERDAFTAR, "NIK tidak terdaftar dalam database kependudukan.", status=404)


def verifikasi(call: sim.Call[native.PermintaanVerifikasi], sequence: int) -> sim.Produced:
    """The answer for a registered NIK; the access log keeps only the record's status."""
    penduduk = cari_penduduk(call.payload.nik, call.today)
    assert penduduk is not None  # harus_terdaftar ran first
    knobs = call.knobs
    skor_minimal = knobs.skor_minimal_nama if isinstance(knobs, DukcapilKnobs) else 90
    jawaban = buat_jawaban(call.payload, penduduk, sequence=sequence, now=call.now, skor_minimal=skor_minimal)
    return sim.Produced(jawaban.model_dump(mode="json"), {"status_data": penduduk.status.value})


def tgl_lahir_yang_ada(permintaan: native.PermintaanVerifikasi) -> None:
    if permintaan.tgl_lahir is not None:
        try:
            datetime.strptime(permintaan.tgl_lahir, native.FORMAT_TANGGAL)
        except ValueError:
            raise sim.Malformed("Data permintaan tidak valid.", ["tgl_lahir: bukan tanggal yang ada"]) from None


VERIFIKASI: Final[sim.Operation[native.PermintaanVerifikasi]] = sim.Operation(
    name=OPERASI_VERIFIKASI,
    path=native.PATH_VERIFIKASI,
    model=native.PermintaanVerifikasi,
    validate=tgl_lahir_yang_ada,
    subject=lambda p: samarkan(p.nik),
    checks=(harus_terdaftar,),
    produce=verifikasi,
    summary="NIK verification against the population register",
)


# ------------------------------------------------------------------ the protocol


class DialekDukcapil(sim.ApiKeyDialect):
    """Dukcapil speaks JSON behind an API key; every error is a :class:`GalatDukcapil`."""

    key = sim.KeyRule(native.HEADER_REQUEST_ID, max_length=100, pattern=POLA_REQUEST_ID)
    DOWN = sim.Say(503, native.KodeGalat.LAYANAN_TIDAK_TERSEDIA, "Layanan sedang dalam pemeliharaan.", retry_after=5)
    BUSY = sim.Say(503, native.KodeGalat.LAYANAN_SIBUK, "Layanan sedang sibuk, silakan coba lagi.", retry_after=1)
    KEY_MISSING = KEY_INVALID = sim.Say(
        400, native.KodeGalat.REQUEST_ID_WAJIB, "Header X-Request-Id wajib diisi (1-100 karakter A-Z a-z 0-9 . _ : -)."
    )
    MALFORMED = sim.Say(422, native.KodeGalat.DATA_TIDAK_VALID, "Data permintaan tidak valid.")
    CONFLICT = sim.Say(409, native.KodeGalat.REQUEST_ID_SUDAH_DIPAKAI, "X-Request-Id sudah dipakai untuk permintaan lain.")
    QUOTA = sim.Say(429, native.KodeGalat.KUOTA_AKSES_HABIS, "Kuota akses harian lembaga sudah habis.")
    DROPPED = sim.Say(504, native.KodeGalat.WAKTU_HABIS, "Batas waktu habis sebelum balasan terkirim.")
    API_KEY_HEADER = native.HEADER_API_KEY
    UNAUTHORIZED = sim.Say(401, native.KodeGalat.API_KEY_TIDAK_VALID, "API key tidak dikenal.")
    HTTP_ERRORS = (native.KodeGalat.TIDAK_DITEMUKAN, native.KodeGalat.GALAT_INTERNAL, native.KodeGalat.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_REPLAY
    #: What a broken gateway in front of the service answers (HTTP 200!) when garbling.
    GARBLED_PAGE = (
        "<!DOCTYPE html><html><head><title>Gangguan Layanan</title></head>"
        "<body><h1>Mohon maaf, layanan sedang mengalami gangguan.</h1></body></html>"
    )

    def decode(self, endpoint: sim.Endpoint[Any], raw: bytes) -> Any:
        """Dukcapil tells "not JSON" and "not an object" apart from field problems."""
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise sim.Malformed("Body bukan JSON yang valid.") from None
        if not isinstance(body, dict):
            raise sim.Malformed("Body harus berupa objek JSON.")
        try:
            return native.PermintaanVerifikasi.model_validate(body)
        except ValidationError as exc:
            raise sim.Malformed(self.MALFORMED.message, sim.problem_lines(exc, root="body")) from None

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return native.GalatDukcapil(kode=native.KodeGalat(code), pesan=message, rincian=details).model_dump(mode="json", exclude_none=True)

    def http_error(self, status: int, detail: str, headers: dict[str, str] | None) -> Response:
        """Unknown paths and methods get Dukcapil's error shape, not FastAPI's."""
        return super().http_error(status, "Alamat layanan tidak ditemukan." if status == 404 else detail, None)


def create_app(
    *,
    api_key: str = DEV_API_KEY,
    ledger_path: str = ":memory:",
    knobs: DukcapilKnobs | None = None,
    clock: sim.Clock | None = None,
) -> FastAPI:
    """The simulator app. ``clock`` (aware datetimes) is injectable so tests can freeze time."""
    runtime = sim.SimulatorRuntime.open(knobs or DukcapilKnobs(), ledger_path=ledger_path, clock=clock)
    app = sim.Simulator(runtime, DialekDukcapil(runtime, api_key), [VERIFIKASI], title="Dukcapil NIK verification (simulator)").app

    @app.middleware("http")
    async def echo_request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """``X-Request-Id`` is echoed on every native reply (when it is a valid one)."""
        reply = await call_next(request)
        request_id = request.headers.get(native.HEADER_REQUEST_ID, "")
        if request.url.path == native.PATH_VERIFIKASI and POLA_REQUEST_ID.fullmatch(request_id):
            reply.headers[native.HEADER_REQUEST_ID] = request_id
        return reply

    return app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator dukcapil` (and the plug-in) starts: ``options.secrets["api_key"]``
    is the API key it accepts; the hub passes the adapter's (``MPP_AGENCIES__DUKCAPIL__API_KEY``),
    and without it the simulator uses the development key."""
    return create_app(api_key=options.secrets.get("api_key", DEV_API_KEY), ledger_path=options.ledger_path)


__all__ = [
    "DEV_API_KEY",
    "NAMA_TERCATAT_BERBEDA",
    "PENDUDUK_CONTOH",
    "SERIAL_DIBLOKIR",
    "SERIAL_MENINGGAL",
    "SERIAL_NAMA_BERBEDA",
    "SERIAL_TIDAK_TERDAFTAR",
    "CatatanPenduduk",
    "DukcapilKnobs",
    "cari_penduduk",
    "create_app",
    "from_options",
    "normalisasi_nama",
    "skor_nama",
]
