"""A stand-in for BPJS Kesehatan's JKN membership check, in the style of its bridging
web services: signed headers, a ``metaData``/``response`` envelope, business
outcomes with HTTP 200.

Why it exists: the adapter must be developed and fault-tested against something that
behaves like the real, foreign system -- its per-request HMAC signature and clock
check, an envelope whose ``metaData.code`` (a string) and not the HTTP status says
what happened, and its bad days. It imports nothing from ``hub``; the request
pipeline, knobs, apply-once ledger and clock come from the SDK's simulator scaffold.

Native API (wire format in :mod:`adapters.bpjs_kesehatan.native`)
=================================================================

``POST /jkn-layanan-publik/v1/kepesertaan/pengecekan``
    Body :class:`~adapters.bpjs_kesehatan.native.PermintaanPengecekan`. Records one
    check under the caller's ``noReferensi`` (the hub sends its step id) and answers
    the member's status that day. A repeat with the same body gets the recorded
    check (``response.ulangan: true``); another body under the same reference:
    HTTP 409, ``metaData.code`` "409".

Every request must carry ``X-cons-id`` (the configured consumer id), ``X-timestamp``
(Unix seconds, within ``timestamp_tolerance_seconds`` of the simulator's clock) and
``X-signature`` = base64(HMAC-SHA256(secret, "consId&timestamp")); otherwise HTTP
401, ``metaData.code`` "401", nothing recorded.

Simulated register (deterministic, so tests can aim at it): the last two digits of
the NIK's serial decide

======  ========================================================================
``00``  not in the JKN register: HTTP 200, ``metaData.code`` "201" (nothing recorded)
``81``  TIDAK AKTIF, contributions in arrears (segment PBPU)
``82``  TIDAK AKTIF, removed from the PBI list (segment PBI APBD)
``83``  TIDAK AKTIF, employment ended (segment PPU)
other   AKTIF; segment, class and FKTP derived from the NIK
======  ========================================================================

The card number is ``000`` + 10 digits derived from the NIK; a ``noKartu`` that is
not the member's is HTTP 200, ``metaData.code`` "202" (nothing recorded). The FKTP
is one of three puskesmas named after Bukittinggi's districts [I].

Knobs (``PUT /_sim/knobs``), in the scaffold's order: ``down`` (HTTP 503 "503"),
``latency_ms``, ``error_rate`` (HTTP 503 "503" with ``Retry-After: 1``), then the
signature (401), body (400), ledger replay/conflict (409), ``daily_quota`` (429),
the register (200 "201"/"202"), record; then ``drop_reply_after_apply`` (HTTP 504
"504", the check was recorded) or ``garble_rate`` (HTTP 200 with an API gateway's
HTML page, or an envelope whose ``response`` is an opaque encrypted string, as
BPJS's newer catalogues send [I]). BPJS's own: ``timestamp_tolerance_seconds``
(default 300 [I]) and ``status_override`` (``statusPeserta.kode`` in every answer
becomes this: a status the adapter has never seen).

Control plane: the SDK's ``/_sim/health``, ``/_sim/ledger`` (subject: a pseudonym of
the NIK, never the NIK) and ``/_sim/knobs``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, timedelta
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field

from adapters.bpjs_kesehatan import native
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.registers import jkn_terdaftar, nomor_kartu_jkn

__all__ = ["DEV_CONS_ID", "DEV_SECRET", "SECRET_NAMES", "BpjsKnobs", "create_app", "from_options", "nomor_kartu"]

#: Development consumer id and secret shared with the hub's dev settings.
DEV_CONS_ID: Final[str] = "mpp-hub-dev"
DEV_SECRET: Final[str] = "dev-bpjs-kesehatan-secret"
#: Names accepted in ``SimulatorOptions.secrets``.
SECRET_NAMES: Final[frozenset[str]] = frozenset({"cons_id", "secret"})

OPERASI_PENGECEKAN: Final[str] = "PENGECEKAN_KEPESERTAAN"

#: (code, name) of the FKTPs the simulated members are registered with [I].
FASKES: Final[tuple[tuple[str, str], ...]] = (
    ("0302P001", "PUSKESMAS GUGUK PANJANG"),
    ("0302P002", "PUSKESMAS MANDIANGIN"),
    ("0302P003", "PUSKESMAS TIGO BALEH"),
)

_TIDAK_AKTIF: Final[dict[str, tuple[native.KodeStatusPeserta, native.KodeJenisPeserta]]] = {
    "81": (native.KodeStatusPeserta.TIDAK_AKTIF_TUNGGAKAN, native.KodeJenisPeserta.PBPU),
    "82": (native.KodeStatusPeserta.TIDAK_AKTIF_PBI_DINONAKTIFKAN, native.KodeJenisPeserta.PBI_APBD),
    "83": (native.KodeStatusPeserta.TIDAK_AKTIF_PHK, native.KodeJenisPeserta.PPU),
}
_KETERANGAN_STATUS: Final[dict[native.KodeStatusPeserta, str]] = {
    native.KodeStatusPeserta.AKTIF: "AKTIF",
    native.KodeStatusPeserta.TIDAK_AKTIF_TUNGGAKAN: "TIDAK AKTIF KARENA TUNGGAKAN IURAN",
    native.KodeStatusPeserta.TIDAK_AKTIF_PBI_DINONAKTIFKAN: "TIDAK AKTIF KARENA PENONAKTIFAN PBI",
    native.KodeStatusPeserta.TIDAK_AKTIF_PHK: "TIDAK AKTIF KARENA PEMUTUSAN HUBUNGAN KERJA",
}
_KETERANGAN_JENIS: Final[dict[native.KodeJenisPeserta, str]] = {
    native.KodeJenisPeserta.PBI_APBN: "PBI (APBN)",
    native.KodeJenisPeserta.PBI_APBD: "PBI (APBD)",
    native.KodeJenisPeserta.PPU: "PEKERJA PENERIMA UPAH",
    native.KodeJenisPeserta.PBPU: "PEKERJA BUKAN PENERIMA UPAH",
    native.KodeJenisPeserta.BP: "BUKAN PEKERJA",
}
_SEGMEN_AKTIF: Final[tuple[native.KodeJenisPeserta, ...]] = tuple(native.KodeJenisPeserta)

#: What the API gateway in front of the service answers when it garbles a reply.
HALAMAN_GATEWAY: Final[str] = "<html><head><title>API Gateway</title></head><body><h1>Request could not be processed</h1></body></html>"


class BpjsKnobs(sim.Knobs):
    """The SDK's common knobs plus BPJS Kesehatan's own (see the module docstring)."""

    timestamp_tolerance_seconds: int = Field(
        default=300, ge=1, le=86_400, description="How far X-timestamp may be from the server's clock."
    )
    status_override: str | None = Field(
        default=None, min_length=1, max_length=10, description="statusPeserta.kode in every answer becomes this."
    )


# ------------------------------------------------------------------ the register


def akhiran_serial(nik: str) -> str:
    return nik[-2:]


# The register is shared with the Polri simulator (SKCK and SIM need active JKN).
terdaftar = jkn_terdaftar
nomor_kartu = nomor_kartu_jkn


def hak_kelas(jenis: native.KodeJenisPeserta, nik: str) -> int:
    """PBI members are class 3; the others' class is derived from the NIK [I]."""
    if jenis in (native.KodeJenisPeserta.PBI_APBN, native.KodeJenisPeserta.PBI_APBD):
        return 3
    return 1 + sim.stable_int("kelas", nik) % (2 if jenis is native.KodeJenisPeserta.PPU else 3)


def peserta(nik: str) -> native.Peserta:
    """What the register holds about a registered NIK (module docstring)."""
    status, jenis = _TIDAK_AKTIF.get(akhiran_serial(nik), (native.KodeStatusPeserta.AKTIF, None))
    if jenis is None:
        jenis = _SEGMEN_AKTIF[sim.stable_int("segmen", nik) % len(_SEGMEN_AKTIF)]
    kode_faskes, nama_faskes = FASKES[sim.stable_int("faskes", nik) % len(FASKES)]
    kelas = hak_kelas(jenis, nik)
    return native.Peserta(
        no_kartu=nomor_kartu(nik),
        nik=nik,
        status_peserta=native.Kode(kode=status.value, keterangan=_KETERANGAN_STATUS[status]),
        jenis_peserta=native.Kode(kode=jenis.value, keterangan=_KETERANGAN_JENIS[jenis]),
        hak_kelas=native.Kode(kode=str(kelas), keterangan=f"KELAS {'I' * kelas}"),
        prov_umum=native.Faskes(kd_provider=kode_faskes, nm_provider=nama_faskes),
        tgl_tmt=date(2014, 1, 1) + timedelta(days=sim.stable_int("tmt", nik) % 3650),
    )


def subjek(nik: str) -> str:
    """Ledger subject: a stable pseudonym, because a NIK is personal data."""
    return "peserta:" + hashlib.sha256(nik.encode()).hexdigest()[:16]


def periksa_register(call: sim.Call[native.PermintaanPengecekan]) -> None:
    """Refusals on the merits (HTTP 200, non-200 ``metaData.code``); nothing is recorded."""
    permintaan = call.payload
    if not terdaftar(permintaan.nik):
        raise sim.Refusal(native.KodeMeta.PESERTA_TIDAK_DITEMUKAN, "Peserta tidak ditemukan: NIK belum terdaftar sebagai peserta JKN.")
    if permintaan.no_kartu is not None and permintaan.no_kartu != nomor_kartu(permintaan.nik):
        raise sim.Refusal(native.KodeMeta.NO_KARTU_TIDAK_SESUAI, "Nomor kartu tidak sesuai dengan NIK peserta.")


def catat(call: sim.Call[native.PermintaanPengecekan], urutan: int) -> dict[str, Any]:
    """The check as recorded: who, what status, when (WIB)."""
    permintaan = call.payload
    return native.HasilPengecekan(
        no_pengecekan=f"JKN{call.now:%y%m%d}{urutan:07d}",
        no_referensi=permintaan.no_referensi,
        waktu_pengecekan=f"{call.now:{native.FORMAT_WAKTU}}",
        peserta=peserta(permintaan.nik),
    ).model_dump(mode="json", by_alias=True)


# ------------------------------------------------------------------ the protocol


def amplop(code: str, message: str, response: Any = None) -> dict[str, Any]:
    return {"metaData": {"code": code, "message": message}, "response": response}


class DialekBpjs(sim.JsonDialect):
    """Everything in the ``metaData``/``response`` envelope; a refusal on the merits
    is HTTP 200; every request is signed."""

    DOWN = sim.Say(503, native.KodeMeta.LAYANAN_TIDAK_TERSEDIA, "Layanan sedang dalam pemeliharaan.")
    BUSY = sim.Say(503, native.KodeMeta.LAYANAN_TIDAK_TERSEDIA, "Layanan sedang sibuk, silakan coba kembali.", retry_after=1)
    KEY_MISSING = KEY_INVALID = MALFORMED = sim.Say(400, native.KodeMeta.DATA_TIDAK_VALID, "Data permintaan tidak valid.")
    CONFLICT = sim.Say(409, native.KodeMeta.REFERENSI_BENTROK, "noReferensi sudah dipakai untuk permintaan lain.")
    QUOTA = sim.Say(429, native.KodeMeta.KUOTA_HABIS, "Kuota pengecekan hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeMeta.WAKTU_HABIS, "Gateway timeout.")
    REFUSAL_STATUS = 200
    HTTP_ERRORS = (native.KodeMeta.TIDAK_DITEMUKAN, native.KodeMeta.METODE_TIDAK_DIIZINKAN, native.KodeMeta.GALAT_INTERNAL)
    REPLAY_HEADER = "X-Ulangan"  # unused: a replay says so in the body

    def __init__(self, runtime: sim.SimulatorRuntime, cons_id: str, secret: str) -> None:
        super().__init__(runtime)
        self.cons_id = cons_id
        self.secret = secret

    @property
    def knobs(self) -> BpjsKnobs:
        knobs = self.runtime.knobs
        assert isinstance(knobs, BpjsKnobs)
        return knobs

    async def authenticate(self, request: Request) -> Response | None:
        problem = self.signature_problem(
            request.headers.get(native.HEADER_CONS_ID),
            request.headers.get(native.HEADER_TIMESTAMP),
            request.headers.get(native.HEADER_SIGNATURE),
        )
        if problem is None:
            return None
        return self.error(sim.Say(401, native.KodeMeta.SIGNATURE_TIDAK_VALID, problem))

    def signature_problem(self, cons_id: str | None, timestamp: str | None, signature: str | None) -> str | None:
        """Why a request's signed headers are not acceptable, or None."""
        if not cons_id or not timestamp or not signature:
            return f"Header {native.HEADER_CONS_ID}, {native.HEADER_TIMESTAMP} dan {native.HEADER_SIGNATURE} wajib diisi."
        if not hmac.compare_digest(cons_id.encode(), self.cons_id.encode()):
            return "Consumer ID tidak dikenal."
        if not timestamp.isdigit():
            return "X-timestamp harus detik Unix (UTC)."
        skew = abs(int(timestamp) - self.runtime.clock.now().timestamp())
        if skew > self.knobs.timestamp_tolerance_seconds:
            return f"X-timestamp berselisih {int(skew)} detik dari waktu server (maksimal {self.knobs.timestamp_tolerance_seconds})."
        if not hmac.compare_digest(signature.encode(), native.tanda_tangan(cons_id, timestamp, self.secret).encode()):
            return "Signature tidak valid."
        return None

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return amplop(code, f"{message} {'; '.join(details)}" if details else message)

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        response = {**body, "ulangan": replayed}
        if self.knobs.status_override is not None:
            peserta_ = response["peserta"]
            response["peserta"] = {**peserta_, "statusPeserta": {"kode": self.knobs.status_override, "keterangan": "STATUS BARU"}}
        return JSONResponse(amplop(native.KodeMeta.OK, "OK", response), status_code=call.endpoint.status)

    def garbled(self, call: sim.Call[Any], reply: Response) -> Response:
        """The gateway's page, or the answer with its ``response`` encrypted."""
        if self.runtime.rng.randrange(2):
            return HTMLResponse(HALAMAN_GATEWAY, status_code=200)
        opaque = base64.b64encode(self.runtime.rng.randbytes(48)).decode("ascii")
        return JSONResponse(amplop(native.KodeMeta.OK, "OK", opaque), status_code=200)


def create_app(
    knobs: BpjsKnobs | None = None,
    *,
    ledger_path: str = ":memory:",
    cons_id: str = DEV_CONS_ID,
    secret: str = DEV_SECRET,
    clock: sim.Clock | None = None,
) -> FastAPI:
    """A simulator app with its own knobs, random and ledger; ``clock`` (aware
    datetimes) lets tests fix "now" (and so the signature's time window)."""
    runtime = sim.SimulatorRuntime.open(knobs or BpjsKnobs(), ledger_path=ledger_path, clock=clock)
    operations = (
        sim.Operation(name=OPERASI_PENGECEKAN, path=native.PATH_PENGECEKAN, model=native.PermintaanPengecekan,
                      key=lambda p: p.no_referensi, subject=lambda p: subjek(p.nik), checks=(periksa_register,), produce=catat,
                      summary="Check and record a member's JKN status (at most once per noReferensi)"),
    )  # fmt: skip
    simulator = sim.Simulator(
        runtime,
        DialekBpjs(runtime, cons_id, secret),
        operations,
        title="BPJS Kesehatan JKN membership simulator",
        description="Native JKN membership check (signed headers, metaData envelope) for mpp-hub adapter tests.",
    )
    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator bpjs_kesehatan` (and the plug-in) starts.

    ``options.secrets`` may set ``cons_id`` and ``secret`` (the hub passes the
    adapter's, ``MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID`` / ``__SECRET``); an unknown
    name is refused rather than silently ignored."""
    unknown = sorted(set(options.secrets) - SECRET_NAMES)
    if unknown:
        raise ValueError(f"unknown BPJS Kesehatan simulator secret(s) {unknown}; known: {sorted(SECRET_NAMES)}")
    return create_app(
        ledger_path=options.ledger_path,
        cons_id=options.secrets.get("cons_id", DEV_CONS_ID),
        secret=options.secrets.get("secret", DEV_SECRET),
    )
