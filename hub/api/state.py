"""What the API's handlers share, as one typed object instead of string lookups."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.catalogue import Catalogue
from hub.config import Settings
from hub.domain.workflow import Workflow


@dataclass(frozen=True)
class ApiState:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    catalogue: Catalogue
    workflow: Workflow
    # Open server-sent event streams per portal client, in this API process.
    open_streams: Counter[str] = field(default_factory=Counter)


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.hub
    return state
