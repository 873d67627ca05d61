"""The kelurahan's web service: ``POST /surat`` issues a letter once per ``Idempotency-Key``,
for addresses in Bukittinggi only; the shared toolkit adds the fault knobs and ledger."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from adapters.sdk.testing.simulation import Fault, Knobs, Ledger, Outcome, SimulatorRuntime, simulator_app


class OutsideArea(Exception):
    pass


def create_app(*, api_key: str, ledger_path: str = ":memory:") -> FastAPI:
    runtime = SimulatorRuntime(Knobs(), Ledger(ledger_path))
    app = simulator_app(runtime, title="Kelurahan simulator")

    @app.post("/surat")
    async def surat(request: Request) -> Response:
        fault = await runtime.gate()
        if fault is not None:
            return JSONResponse({"kode": "SIBUK" if fault is Fault.BUSY else "TIDAK_TERSEDIA"}, status_code=503)
        if request.headers.get("X-Api-Key") != api_key:
            return JSONResponse({"kode": "KUNCI_SALAH"}, status_code=401)
        body: dict[str, Any] = await request.json()
        key = request.headers.get("Idempotency-Key", "")

        def produce(sequence: int) -> dict[str, Any]:
            if "bukittinggi" not in str(body.get("alamat", "")).lower():
                raise OutsideArea
            return {"nomor": f"470/{sequence:04d}/KEL", "tanggal": date.today().isoformat(), "status": "TERBIT"}

        try:
            result = runtime.ledger.apply_once(
                key, operation="surat_domisili", subject="-", fingerprint=hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest(),
                produce=produce, today=date.today(), quota=runtime.knobs.daily_quota,
            )
        except OutsideArea:
            return JSONResponse({"kode": "DI_LUAR_WILAYAH"}, status_code=422)
        if result.outcome is Outcome.CONFLICT:
            return JSONResponse({"kode": "KUNCI_DIPAKAI"}, status_code=409)
        if result.outcome is Outcome.QUOTA_EXCEEDED or result.entry is None:
            return JSONResponse({"kode": "KUOTA_HABIS"}, status_code=429)
        if runtime.drop_reply():
            return JSONResponse({"kode": "GATEWAY_TIMEOUT"}, status_code=504)
        if runtime.garble_reply():
            return PlainTextResponse("<html>Layanan sedang gangguan</html>", status_code=200)
        return JSONResponse(result.entry.response)

    return app
