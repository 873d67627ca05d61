"""A stand-in for Siskohat's host-to-host batch exchange (Kemenhaj).

Why it exists: the Kemenhaj adapter is the hub's batch-style backend, and batch
semantics (a record waits for its batch's cut-off; the result comes in a file;
the file can be asked for again and again) must be developed and fault-tested
against something that behaves that way. The register's rules are in
:mod:`adapters.kemenhaj.siskohat`; the wire format in :mod:`adapters.kemenhaj.native`.

``PUT /siskohat/h2h/v1/inbox/rekaman/{id_rekaman}``
    Puts a record into the open batch, at most once per ``id_rekaman`` (the
    scaffold's ledger): a repeat with the same record gets the stored receipt with
    ``X-Rekaman-Ulang: true``, another record under the same id ``409
    REKAMAN_BENTROK``. A batch opens with its first record and closes
    ``batch_interval_seconds`` (knob, default 3) later; a record put after that goes
    into a new batch. Only the record's format is checked here.
``GET /siskohat/h2h/v1/outbox/{id_batch}``
    Before the cut-off: ``409 BATCH_BELUM_DITUTUP`` with ``Retry-After`` (seconds to
    the cut-off, rounded up). After: every closed batch not yet processed is
    processed in order (the register's rules), and the batch's result file is
    answered as NDJSON. The results are kept, so every read of a file is the same.

Knobs: the scaffold's common ones (``down`` 503 ``LAYANAN_TIDAK_TERSEDIA``,
``latency_ms``, ``error_rate`` 503 ``SISTEM_SIBUK``, ``drop_reply_after_apply`` 504
``WAKTU_HABIS`` after the record went in or the file was read, ``garble_rate`` a
gateway's HTML page, ``daily_quota`` 429 ``KUOTA_HARIAN_HABIS``) and
``batch_interval_seconds``. Control plane: ``/_sim/health``, ``/_sim/ledger``
(subjects are record kinds; states hold NIK digests, never NIKs), ``/_sim/knobs``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from adapters.kemenhaj import native, siskohat
from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions

__all__ = ["DEV_API_KEY", "SECRET_NAME", "KemenhajKnobs", "create_app", "from_options"]

#: Development key shared with the hub's dev settings (MPP_AGENCIES__KEMENHAJ__API_KEY).
DEV_API_KEY: Final[str] = "dev-kemenhaj-siskohat-key"
SECRET_NAME: Final[str] = "api_key"

OPERASI_REKAMAN: Final[str] = "REKAMAN_MASUK"
OPERASI_HASIL: Final[str] = "BERKAS_HASIL"
_ID_REKAMAN: Final = re.compile(r"[A-Za-z0-9-]{1,64}")
_REKAMAN: Final[TypeAdapter[Any]] = TypeAdapter(native.Rekaman)


class KemenhajKnobs(sim.Knobs):
    """The SDK's common knobs plus the batch cut-off."""

    batch_interval_seconds: float = Field(default=3.0, gt=0, le=86_400, description="How long a batch stays open after its first record.")


class RekamanMasuk(BaseModel):
    """A record with the id the caller gave it in the path."""

    model_config = ConfigDict(extra="forbid")

    id_rekaman: str
    rekaman: native.Rekaman


class BelumDitutup(sim.Refusal):
    """The batch is still open: its file is not out yet."""

    def __init__(self, id_batch: str, sisa: float) -> None:
        super().__init__(native.KodeGalat.BATCH_BELUM_DITUTUP, f"Batch {id_batch} belum ditutup.", status=409)
        self.retry_after = max(1, math.ceil(sisa))


@dataclass
class _Batch:
    id: str
    batas_tutup: datetime
    jumlah: int = 0


class Loket:
    """The open batch (in memory: after a restart the next record opens a new one)."""

    def __init__(self) -> None:
        self.batch: _Batch | None = None

    def masukkan(self, sekarang: datetime, interval: float) -> _Batch:
        if self.batch is None or sekarang >= self.batch.batas_tutup:
            self.batch = _Batch(f"SKH{sekarang:%Y%m%d%H%M%S}{sekarang.microsecond // 1000:03d}", sekarang + timedelta(seconds=interval))
        self.batch.jumlah += 1
        return self.batch


def baca_rekaman(request: Request, raw: bytes) -> RekamanMasuk:
    id_rekaman = str(request.path_params["id_rekaman"])
    if not _ID_REKAMAN.fullmatch(id_rekaman):
        raise sim.BadKey(missing=False)
    try:
        rekaman = _REKAMAN.validate_json(raw)
    except ValidationError as exc:
        raise sim.Malformed("Rekaman tidak valid.", sim.problem_lines(exc)) from None
    return RekamanMasuk(id_rekaman=id_rekaman, rekaman=rekaman)


def periksa_nik(call: sim.Call[RekamanMasuk]) -> None:
    """A NIK whose birth date does not exist is not a record Siskohat can take."""
    try:
        siskohat.keadaan_awal(call.payload.rekaman, call.today)
    except ValueError:
        raise sim.Malformed("Rekaman tidak valid.", ["nik: bukan NIK yang sah"]) from None


class Inbox:
    """``produce`` of a record: into the open batch, with what the register will need."""

    def __init__(self, loket: Loket) -> None:
        self.loket = loket

    def __call__(self, call: sim.Call[RekamanMasuk], urutan: int) -> sim.Produced:
        knobs = call.knobs
        assert isinstance(knobs, KemenhajKnobs)
        batch = self.loket.masukkan(call.now, knobs.batch_interval_seconds)
        tanda = native.TandaTerima(
            id_rekaman=call.payload.id_rekaman, id_batch=batch.id, nomor_urut=batch.jumlah, batas_tutup=batch.batas_tutup
        )
        rekaman = call.payload.rekaman
        keadaan = {
            **siskohat.keadaan_awal(rekaman, call.today),
            "jenis": rekaman.jenis.value,
            "id_batch": batch.id,
            "batas_tutup": batch.batas_tutup.isoformat(),
            "tanggal": call.today.isoformat(),
            "hasil": None,
        }
        return sim.Produced(tanda.model_dump(mode="json"), keadaan)


class Outbox:
    """``GET`` of a result file: process what is due, then answer the batch's lines."""

    def __init__(self, runtime: sim.SimulatorRuntime, loket: Loket) -> None:
        self.runtime, self.loket = runtime, loket

    def __call__(self, call: sim.Call[str]) -> dict[str, Any]:
        id_batch = call.payload
        entries = self._proses_jatuh_tempo(call.now)
        milik = [e for e in entries if e.state.get("id_batch") == id_batch]
        if not milik:
            if self.loket.batch is not None and self.loket.batch.id == id_batch:
                raise BelumDitutup(id_batch, (self.loket.batch.batas_tutup - call.now).total_seconds())
            raise sim.Refusal(native.KodeGalat.BATCH_TIDAK_DITEMUKAN, f"Batch {id_batch} tidak ditemukan.", status=404)
        batas = datetime.fromisoformat(milik[0].state["batas_tutup"])
        if batas > call.now:
            raise BelumDitutup(id_batch, (batas - call.now).total_seconds())
        kepala = native.KepalaBerkas(id_batch=id_batch, ditutup_pada=batas, jumlah_rekaman=len(milik))
        return {"kepala": kepala.model_dump(mode="json"), "rekaman": [e.state["hasil"] for e in milik]}

    def _proses_jatuh_tempo(self, sekarang: datetime) -> list[sim.LedgerEntry]:
        ledger = self.runtime.ledger
        entries = ledger.entries()
        register = siskohat.Register()
        for entry in entries:
            if entry.state.get("hasil") is not None:
                register.catat(entry.state, entry.state["hasil"])
            elif siskohat.jatuh_tempo(entry.state, sekarang):
                hasil = siskohat.proses(entry.key, entry.state, register, self.runtime.clock)
                ledger.update_state(entry.key, {**entry.state, "hasil": hasil})
        return ledger.entries()


class DialekSiskohat(sim.ApiKeyDialect):
    """JSON receipts and errors (``{"galat": ...}``), NDJSON result files; the record id is in the path."""

    DOWN = sim.Say(503, native.KodeGalat.LAYANAN_TIDAK_TERSEDIA, "Layanan Siskohat H2H sedang tidak tersedia.")
    BUSY = sim.Say(503, native.KodeGalat.SISTEM_SIBUK, "Sistem sedang sibuk, silakan coba lagi.", retry_after=1)
    KEY_MISSING = KEY_INVALID = sim.Say(
        400, native.KodeGalat.ID_REKAMAN_TIDAK_VALID, "id_rekaman wajib 1-64 karakter huruf, angka atau '-'."
    )
    MALFORMED = sim.Say(422, native.KodeGalat.REKAMAN_TIDAK_VALID, "Rekaman tidak valid.")
    CONFLICT = sim.Say(409, native.KodeGalat.REKAMAN_BENTROK, "id_rekaman sudah dipakai untuk rekaman lain.")
    QUOTA = sim.Say(429, native.KodeGalat.KUOTA_HARIAN_HABIS, "Kuota rekaman hari ini sudah habis.")
    DROPPED = sim.Say(504, native.KodeGalat.WAKTU_HABIS, "Batas waktu gateway habis.")
    API_KEY_HEADER = native.HEADER_API_KEY
    UNAUTHORIZED = sim.Say(401, native.KodeGalat.KUNCI_TIDAK_VALID, f"Header {native.HEADER_API_KEY} tidak ada atau tidak valid.")
    HTTP_ERRORS = (native.KodeGalat.TIDAK_DITEMUKAN, native.KodeGalat.METODE_TIDAK_DIIZINKAN, native.KodeGalat.GALAT_INTERNAL)
    REPLAY_HEADER = native.HEADER_REPLAYED
    GARBLED_PAGE = "<!DOCTYPE html><html><head><title>Siskohat</title></head><body><h1>502 Bad Gateway</h1></body></html>"

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return native.BalasanGalat(galat=native.Galat(kode=native.KodeGalat(code), pesan=message, rincian=details)).model_dump(
            mode="json", exclude_none=True
        )

    def refused(self, refusal: sim.Refusal) -> Response:
        reply = super().refused(refusal)
        if isinstance(refusal, BelumDitutup):
            reply.headers["Retry-After"] = str(refusal.retry_after)
        return reply

    def success(self, call: sim.Call[Any], body: dict[str, Any], *, replayed: bool) -> Response:
        if call.endpoint.name != OPERASI_HASIL:
            return super().success(call, body, replayed=replayed)
        lines = [native.KepalaBerkas.model_validate(body["kepala"]).model_dump_json(), *(_json_line(r) for r in body["rekaman"])]
        return Response("\n".join(lines) + "\n", media_type=native.MEDIA_NDJSON)


def _json_line(record: dict[str, Any]) -> str:
    return native.HasilRekaman.model_validate(record).model_dump_json(exclude_none=True)


def _id_batch(request: Request, _: bytes) -> str:
    return str(request.path_params["id_batch"])


def create_app(
    knobs: KemenhajKnobs | None = None, *, ledger_path: str = ":memory:", api_key: str = DEV_API_KEY, clock: sim.Clock | None = None
) -> FastAPI:
    """A simulator with its own knobs, ledger and open batch; ``clock`` lets tests fix the time."""
    runtime = sim.SimulatorRuntime.open(knobs or KemenhajKnobs(), ledger_path=ledger_path, clock=clock)
    loket = Loket()
    operations = (
        sim.Operation(name=OPERASI_REKAMAN, path=native.PATH_INBOX, method="PUT", status=202, read=baca_rekaman,
                      key=lambda p: p.id_rekaman, subject=lambda p: p.rekaman.jenis.value, checks=(periksa_nik,), produce=Inbox(loket),
                      summary="Put one record into the open batch (applied once per id_rekaman)"),
        sim.Query(name=OPERASI_HASIL, path=native.PATH_OUTBOX, method="GET", read=_id_batch, answer=Outbox(runtime, loket),
                  summary="The batch's result file (NDJSON) once the batch is closed"),
    )  # fmt: skip
    simulator = sim.Simulator(
        runtime,
        DialekSiskohat(runtime, api_key),
        operations,
        title="Kemenhaj Siskohat H2H simulator",
        description="Native Siskohat batch exchange (hajj registration, cancellation, portion transfer) for mpp-hub adapter tests.",
    )
    return simulator.app


def from_options(options: SimulatorOptions) -> FastAPI:
    """The app `mpp-hub simulator kemenhaj` (and the plug-in) starts: ``options.secrets["api_key"]``
    is the key it accepts; the hub passes the adapter's (``MPP_AGENCIES__KEMENHAJ__API_KEY``)."""
    return create_app(ledger_path=options.ledger_path, api_key=options.secrets.get(SECRET_NAME, DEV_API_KEY))
