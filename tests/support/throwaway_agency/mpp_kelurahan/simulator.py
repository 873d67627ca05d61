"""The kelurahan's web service: ``POST /surat`` issues a certificate of domicile once per
``Idempotency-Key``, for addresses in Bukittinggi only. Everything else (fault knobs,
the apply-once ledger, quota, dropped and garbled replies, control endpoints) is the
SDK's simulator scaffold; the kelurahan only declares its operation and its words."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from adapters.sdk import testing as sim
from adapters.sdk.contract import SimulatorOptions
from mpp_kelurahan import DEV_API_KEY


class PermintaanSurat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alamat: str


def dalam_wilayah(call: sim.Call[PermintaanSurat]) -> None:
    if "bukittinggi" not in call.payload.alamat.lower():
        raise sim.Refusal("DI_LUAR_WILAYAH", "Alamat di luar wilayah kelurahan.")


def terbitkan(call: sim.Call[PermintaanSurat], sequence: int) -> dict[str, Any]:
    return {"nomor": f"470/{sequence:04d}/KEL", "tanggal": call.today.isoformat(), "status": "TERBIT"}


SURAT = sim.Operation(
    name="surat_domisili",
    path="/surat",
    model=PermintaanSurat,
    subject=lambda _: "-",
    checks=(dalam_wilayah,),
    produce=terbitkan,
    summary="Certificate of domicile",
)


class DialekKelurahan(sim.ApiKeyDialect):
    key = sim.KeyRule("Idempotency-Key", max_length=100)
    DOWN = sim.Say(503, "TIDAK_TERSEDIA", "Layanan tidak tersedia.", retry_after=5)
    BUSY = sim.Say(503, "SIBUK", "Layanan sibuk.", retry_after=1)
    KEY_MISSING = KEY_INVALID = sim.Say(400, "KUNCI_WAJIB", "Header Idempotency-Key wajib diisi.")
    MALFORMED = sim.Say(422, "DATA_TIDAK_VALID", "Data tidak valid.")
    CONFLICT = sim.Say(409, "KUNCI_DIPAKAI", "Kunci sudah dipakai untuk permintaan lain.")
    QUOTA = sim.Say(429, "KUOTA_HABIS", "Kuota harian habis.")
    DROPPED = sim.Say(504, "GATEWAY_TIMEOUT", "Batas waktu habis.")
    API_KEY_HEADER = "X-Api-Key"
    UNAUTHORIZED = sim.Say(401, "KUNCI_SALAH", "API key salah.")
    HTTP_ERRORS = ("TIDAK_DITEMUKAN", "METODE_SALAH", "GALAT")
    REPLAY_HEADER = "X-Idempotent-Replay"
    GARBLED_PAGE = "<html>Layanan sedang gangguan</html>"

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return {"kode": code, "pesan": message}


def create_app(*, api_key: str, ledger_path: str = ":memory:") -> FastAPI:
    runtime = sim.SimulatorRuntime.open(sim.Knobs(), ledger_path=ledger_path)
    return sim.Simulator(runtime, DialekKelurahan(runtime, api_key), [SURAT], title="Kelurahan simulator").app


def from_options(options: SimulatorOptions) -> FastAPI:
    return create_app(api_key=options.secrets.get("api_key", DEV_API_KEY), ledger_path=options.ledger_path)
