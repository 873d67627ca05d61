"""`GET /v1/operator/principals`: who may call the hub, for admins only (the ``manage`` right).

Keys are never shown, only their ids and expiry; changes go through
``mpp-hub principals`` so that each is audited with the acting user.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from hub.api.auth import OperatorMayManage
from hub.api.errors import problem_responses
from hub.api.state import ApiState, api_state
from hub.features.principals import service

router = APIRouter(prefix="/v1/operator", tags=["operators"])


class KeyView(BaseModel):
    key_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class PrincipalView(BaseModel):
    id: uuid.UUID
    kind: Literal["portal", "operator"]
    name: str
    services: list[str]
    roles: list[str]
    created_at: datetime
    revoked_at: datetime | None
    keys: list[KeyView]


@router.get("/principals", response_model=list[PrincipalView], responses=problem_responses(401, 403))
async def list_principals(_: OperatorMayManage, state: Annotated[ApiState, Depends(api_state)]) -> list[PrincipalView]:
    """Every principal with its rights and key ids (admins only)."""
    async with state.sessions() as session:
        rows = await service.listing(session)
    return [
        PrincipalView.model_validate(
            {
                **{f: getattr(p, f) for f in ("id", "kind", "name", "services", "roles", "created_at", "revoked_at")},
                "keys": [KeyView.model_validate(k, from_attributes=True) for k in keys],
            }
        )
        for p, keys in rows
    ]
