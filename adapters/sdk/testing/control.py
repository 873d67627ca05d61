"""The control plane every simulator serves beside its native API: ``/_sim/health``,
``/_sim/ledger`` and ``/_sim/knobs`` (GET, partial PUT), which fault tests and the
contract kit drive. Never affected by the knobs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from adapters.sdk.testing.knobs import SimulatorRuntime


def control_router(runtime: SimulatorRuntime) -> APIRouter:
    router = APIRouter(prefix="/_sim", tags=["simulator control"])
    knobs_model = type(runtime.knobs)

    @router.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/ledger")
    async def ledger() -> dict[str, Any]:
        return runtime.ledger.summary()

    @router.get("/knobs")
    async def get_knobs() -> dict[str, Any]:
        return runtime.knobs.model_dump(mode="json")

    @router.put("/knobs")
    async def put_knobs(request: Request) -> JSONResponse:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise TypeError("knobs must be a JSON object")
            merged = knobs_model.model_validate({**runtime.knobs.model_dump(), **changes})
        except (ValueError, TypeError, ValidationError) as exc:
            # exc.json(): the errors' ctx may hold exception objects (custom validators) that plain JSON cannot carry.
            detail = json.loads(exc.json(include_input=False)) if isinstance(exc, ValidationError) else str(exc)
            return JSONResponse({"error": "invalid knobs", "detail": detail}, status_code=422)
        runtime.set_knobs(merged, reseed="seed" in changes)
        return JSONResponse(merged.model_dump(mode="json"))  # as received: a trigger shows it was set, then resets

    return router
