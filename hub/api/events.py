"""Server-sent events: follow one case live, `GET /v1/requests/{id}/events`.

Each history entry of the case is one event::

    event: step.status_changed
    id: 1234                      <- the history id; resume with Last-Event-ID
    data: {...}                   <- the same JSON a webhook receives

The stream starts after ``Last-Event-ID`` (the header browsers send on reconnect),
else from the case's first entry; it polls the database, sends a ``: heartbeat``
comment when idle for 15 s (proxies drop silent connections), and ends once the case
is terminal and its entries are all sent. Reconnecting to a terminal case with
nothing left to send answers ``204 No Content``, which tells an ``EventSource`` to
stop reconnecting.

Ordering: entries are sent in id order as they become visible. An entry whose
transaction commits after a later one's (rare: two writers on one case at once) is
still sent, just after it; clients should not assume ids only grow.

Uses FastAPI's ``EventSourceResponse`` and SSE wire encoder (``fastapi.sse``), but in a
plain endpoint rather than FastAPI's generator-endpoint SSE mode: that mode always
answers 200 with a stream (and treats any endpoint declaring
``response_class=EventSourceResponse`` as a generator), whereas here ownership is
checked and a 404/204 answered before the stream starts, and the heartbeat interval
is ours to set.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from fastapi.sse import EventSourceResponse, format_sse_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api.auth import PortalClient
from hub.api.errors import ApiError, problem_responses
from hub.api.limits import MAX_INT_COLUMN
from hub.api.state import ApiState, api_state
from hub.db.models import Case, HistoryRecord
from hub.features.notifications.events import build_events, is_event
from schemas.lifecycle import TERMINAL

router = APIRouter(prefix="/v1/requests", tags=["requests"])

# Module-level so tests (and operators, in code) can tune them.
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000

_TERMINAL = frozenset(s.value for s in TERMINAL)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A text/event-stream of the case's history entries.", "content": {"text/event-stream": {}}},
    204: {"description": "The case is terminal and nothing is left after Last-Event-ID: stop reconnecting."},
    **problem_responses(401, 404, 422, 429),
}

LastEventId = Annotated[
    int | None,
    Header(
        alias="Last-Event-ID", ge=0, le=MAX_INT_COLUMN, description="Resume after this event id (the `id:` of the last event received)."
    ),
]


@router.get("/{request_id}/events", response_class=Response, responses=_RESPONSES)
async def case_events(
    request_id: uuid.UUID,
    client: PortalClient,
    state: Annotated[ApiState, Depends(api_state)],
    last_event_id: LastEventId = None,
) -> Response:
    """Stream the case's status changes as server-sent events until it is terminal."""
    after = last_event_id or 0
    async with state.sessions() as session:
        case = await session.get(Case, request_id)
        if case is None or case.client_id != client:
            raise ApiError(404, "request_not_found", f"No request {request_id} for this client")
        if case.status in _TERMINAL and not any(is_event(r) for r in await _rows_after(session, request_id, after)):
            return Response(status_code=204)
    limit = state.settings.api.max_event_streams_per_client
    if state.open_streams[client] >= limit:
        raise ApiError(
            429,
            "too_many_event_streams",
            f"At most {limit} event streams may be open at once per client",
            detail="close one, or follow cases by webhook",
            headers={"Retry-After": str(int(HEARTBEAT_SECONDS))},
        )
    return EventSourceResponse(
        _counted(state, client, _stream(state.sessions, request_id, after)),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _counted(state: ApiState, client: str, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream``, counted among ``client``'s open streams (this API process's) until it ends or is dropped."""
    state.open_streams[client] += 1
    try:
        async for chunk in stream:
            yield chunk
    finally:
        state.open_streams[client] -= 1


async def _rows_after(session: AsyncSession, case_id: uuid.UUID, after: int) -> list[HistoryRecord]:
    query = select(HistoryRecord).where(HistoryRecord.case_id == case_id, HistoryRecord.id > after).order_by(HistoryRecord.id)
    return list((await session.scalars(query)).all())


async def _stream(sessions: async_sessionmaker[AsyncSession], case_id: uuid.UUID, after: int) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    seen: set[int] = set()
    yield format_sse_event(retry=RETRY_MILLISECONDS)  # also gets the headers to the client at once
    last_write = loop.time()
    while True:
        async with sessions() as session:
            # Status first: the entry of a terminal change commits with it, so it is in the read below.
            status = await session.scalar(select(Case.status).where(Case.id == case_id))
            fresh = [r for r in await _rows_after(session, case_id, after) if r.id not in seen]
            events = await build_events(session, fresh) if fresh else []
        seen.update(r.id for r in fresh)
        for event in events:
            yield format_sse_event(data_str=event.json(), event=event.type, id=str(event.id))
            last_write = loop.time()
        if status is None or status in _TERMINAL:
            return
        if loop.time() - last_write >= HEARTBEAT_SECONDS:
            yield b": heartbeat\n\n"
            last_write = loop.time()
        await asyncio.sleep(POLL_SECONDS)
