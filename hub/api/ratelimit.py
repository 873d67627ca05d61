"""Rate limits per principal and per source address: 429 with ``Retry-After``.

Fixed windows counted in the database (``rate_limit_windows``, one upsert per hit), so
the limit holds however many API processes serve the hub behind a load balancer.
The per-address count runs before authentication, so 2,000 wrong keys from one
address are refused long before the 2,000th; the per-principal count runs once the
key is known, so one portal cannot starve the others by spreading over addresses.
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api.errors import ApiError
from hub.api.state import ApiState, api_state
from hub.db.models import RateLimitWindow

#: Paths outside every limit: liveness probes must answer a busy hub.
UNLIMITED_PATHS = frozenset({"/healthz"})


async def hit(
    sessions: async_sessionmaker[AsyncSession], bucket: str, limit: int, window_seconds: int, now: float | None = None
) -> int | None:
    """Count one request of ``bucket``; the seconds to wait when it is over ``limit``, else None."""
    moment = time.time() if now is None else now
    start = int(moment // window_seconds * window_seconds)
    async with sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        upsert = insert(RateLimitWindow).values(bucket=bucket[:200], window_start=start, hits=1)
        statement = upsert.on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": RateLimitWindow.hits + 1}
        ).returning(RateLimitWindow.hits)
        hits = (await session.execute(statement)).scalar_one()
        if hits == 1:  # the first hit of a window sweeps windows that can no longer matter
            await session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < start - window_seconds))
    if hits <= limit:
        return None
    return max(1, math.ceil(start + window_seconds - moment))


async def enforce(state: ApiState, bucket: str, limit: int) -> None:
    """Raise 429 when ``bucket`` is over ``limit`` in the current window."""
    wait = await hit(state.sessions, bucket, limit, state.settings.api.rate_limit_window_seconds)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests",
            detail=f"at most {limit} requests per {state.settings.api.rate_limit_window_seconds} s; retry after {wait} s",
            headers={"Retry-After": str(wait)},
        )


async def limit_by_address(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> None:
    """App-wide dependency: every request counts against its source address."""
    if request.url.path in UNLIMITED_PATHS:
        return
    address = request.client.host if request.client else "unknown"
    await enforce(state, f"address:{address}", state.settings.api.rate_limit_per_address)


async def limit_principal(state: ApiState, principal: str) -> None:
    """Count a request against an authenticated principal (``portal:<id>``, ``operator:<name>``, ``agency:<name>``)."""
    await enforce(state, principal, state.settings.api.rate_limit_per_principal)
