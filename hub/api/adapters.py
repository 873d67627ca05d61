"""Operator view of the adapter workers: each agency's instances with their circuit
breaker state and whether their heartbeat is fresh (``hub/features/adapter_status.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hub.api.auth import Operator
from hub.api.errors import problem_responses
from hub.api.state import ApiState, api_state
from hub.features.adapter_status import STALE_AFTER, list_statuses

router = APIRouter(prefix="/v1/operator", tags=["operator"])


class AdapterInstance(BaseModel):
    instance_id: str
    state: str = Field(description="closed | open | half_open")
    consecutive_failures: int
    opened_at: datetime | None
    last_error: str | None = Field(description="Class of the last transient error (never its message).")
    updated_at: datetime = Field(description="The worker's last snapshot (heartbeat every 10 s).")
    seconds_since_heartbeat: float
    stale: bool = Field(description=f"No heartbeat for more than {int(STALE_AFTER.total_seconds())} s.")


class AgencyAdapters(BaseModel):
    agency: str
    instances: list[AdapterInstance]


class AdaptersView(BaseModel):
    agencies: list[AgencyAdapters]


@router.get("/adapters", response_model=AdaptersView, responses=problem_responses(401, 403))
async def list_adapters(state: Annotated[ApiState, Depends(api_state)], _: Operator) -> AdaptersView:
    """Each agency's adapter worker instances with their breaker state and staleness.
    Agencies of the catalogue with no reporting instance are listed with none."""
    async with state.sessions() as session:
        statuses = await list_statuses(session)
    agencies = sorted(set(statuses) | set(state.catalogue.providers()))
    return AdaptersView(
        agencies=[AgencyAdapters(agency=a, instances=[AdapterInstance(**vars(i)) for i in statuses.get(a, [])]) for a in agencies]
    )
