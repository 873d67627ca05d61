"""The console's sign-in, language switch and read-only pages (flow, cases, adapters, SLA)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from hub.api.auth import operator_for_key
from hub.console import queries
from hub.console.i18n import LANGUAGE_COOKIE, MESSAGES
from hub.console.lag import AgencyLag
from hub.console.session import COOKIE
from hub.console.timeline import case_view
from hub.console.web import PREFIX, CheckedSession, Console, CsrfRefused, Hub, Session, redirect, render, same_origin, secure_cookies
from hub.features.adapter_status import list_statuses
from schemas.lifecycle import Status

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: How often the flow page's live stream sends a new snapshot.
FLOW_INTERVAL_SECONDS = 2.0
SLA_NEAR_HOURS = 24  # "near" on the SLA page unless the operator widens it
SLA_NEAR_MAX_HOURS = 24 * 90


@router.get("")
async def home() -> RedirectResponse:
    return redirect(f"{PREFIX}/flow")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, console: Console, out: bool = False) -> HTMLResponse:
    return render(request, console, "login.html", None, signed_out=out, refused=False)


@router.post("/login", response_model=None)
async def login(request: Request, console: Console, hub: Hub, key: Annotated[str, Form(max_length=500)] = "") -> Response:
    """An operator key opens a session; anything else (a portal key included) does not."""
    if not same_origin(request):
        raise CsrfRefused
    operator = await operator_for_key(hub, key.strip())
    if operator is None:
        return render(request, console, "login.html", None, status_code=401, signed_out=False, refused=True)
    token, _ = console.signer.issue(operator.name, operator.roles)
    response = redirect(f"{PREFIX}/flow")
    response.set_cookie(
        COOKIE,
        token,
        max_age=console.signer.lifetime_seconds,
        path=PREFIX,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
    )
    return response


@router.post("/logout")
async def logout(request: Request, console: Console, session: CheckedSession) -> RedirectResponse:
    console.signer.revoke(session)
    response = redirect(f"{PREFIX}/login?out=true")
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, secure=secure_cookies(request), samesite="strict")
    return response


@router.get("/lang/{lang}")
async def switch_language(request: Request, lang: str, next: str = f"{PREFIX}/flow") -> RedirectResponse:
    """Remember the chosen language; only ever go back to a console page."""
    target = next if next.startswith(f"{PREFIX}/") and "//" not in next and "\\" not in next else f"{PREFIX}/flow"
    response = redirect(target)
    if lang in MESSAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, path=PREFIX, samesite="strict", secure=secure_cookies(request))
    return response


def _agencies(hub: Hub) -> list[str]:
    return sorted(hub.settings.agencies)


def _retry_levels(hub: Hub) -> dict[str, int]:
    return {a: len(backend.retry_topic_delays_seconds) for a, backend in sorted(hub.settings.agencies.items())}


async def _flow(hub: Hub, console: Console) -> queries.FlowSnapshot:
    async with hub.sessions() as db:
        snapshot = await queries.flow_snapshot(db, _agencies(hub))
        statuses = await list_statuses(db)
    lags = await console.lag.by_agency(_retry_levels(hub))
    for tile in snapshot.agencies:
        tile.breaker = queries.worst_breaker(statuses.get(tile.agency, []))
        tile.lag = lags.get(tile.agency, AgencyLag()).commands
    return snapshot


@router.get("/flow", response_class=HTMLResponse)
async def flow_page(request: Request, console: Console, hub: Hub, session: Session) -> HTMLResponse:
    return render(request, console, "flow.html", session, snapshot=await _flow(hub, console))


@router.get("/flow/snapshot")
async def flow_json(console: Console, hub: Hub, _: Session) -> JSONResponse:
    return JSONResponse((await _flow(hub, console)).as_json(), headers={"Cache-Control": "no-store"})


@router.get("/flow/stream")
async def flow_stream(request: Request, console: Console, hub: Hub, _: Session) -> StreamingResponse:
    """Server-sent events: one ``flow`` event per interval until the browser goes away."""

    async def events() -> AsyncIterator[str]:
        yield f"retry: {int(FLOW_INTERVAL_SECONDS * 1000)}\n\n"
        while not await request.is_disconnected():
            snapshot = await _flow(hub, console)
            yield f"event: flow\ndata: {json.dumps(snapshot.as_json())}\n\n"
            await asyncio.sleep(FLOW_INTERVAL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _when(text: str | None) -> datetime | None:
    """A ``datetime-local`` field, read as UTC; an unreadable one is ignored."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/cases", response_class=HTMLResponse)
async def cases_page(
    request: Request,
    console: Console,
    hub: Hub,
    session: Session,
    case_id: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
    service: Annotated[str, Query(max_length=100)] = "",
    agency: Annotated[str, Query(max_length=50)] = "",
    created_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    created_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    sla_breached: bool = False,
) -> HTMLResponse:
    query = queries.CaseQuery(
        case_id=case_id.strip() or None,
        status=status or None,
        service=service or None,
        agency=agency or None,
        created_from=_when(created_from),
        created_to=_when(created_to),
        sla_breached=sla_breached,
    )
    async with hub.sessions() as db:
        rows = await queries.search_cases(db, query)
    return render(
        request,
        console,
        "cases.html",
        session,
        rows=rows,
        form={"case_id": case_id, "status": status, "service": service, "agency": agency, "from": created_from, "to": created_to},
        sla_breached=sla_breached,
        statuses=[s.value for s in Status],
        services=sorted([*hub.catalogue.codes(), *(c.code for c in hub.catalogue.composites())]),
        agencies=_agencies(hub),
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, console: Console, hub: Hub, session: Session, case_id: uuid.UUID) -> HTMLResponse:
    async with hub.sessions() as db:
        view = await case_view(db, case_id)
    if view is None:
        return render(request, console, "missing.html", session, status_code=404, what=str(case_id))
    return render(request, console, "case.html", session, case=view)


@router.get("/adapters", response_class=HTMLResponse)
async def adapters_page(request: Request, console: Console, hub: Hub, session: Session) -> HTMLResponse:
    async with hub.sessions() as db:
        statuses = await list_statuses(db)
    lags = await console.lag.by_agency(_retry_levels(hub))
    agencies = sorted(set(statuses) | set(_agencies(hub)))
    return render(request, console, "adapters.html", session, agencies=agencies, statuses=statuses, lags=lags, levels=_retry_levels(hub))


@router.get("/sla", response_class=HTMLResponse)
async def sla_page(
    request: Request,
    console: Console,
    hub: Hub,
    session: Session,
    hours: Annotated[int, Query(ge=1, le=SLA_NEAR_MAX_HOURS)] = SLA_NEAR_HOURS,
) -> HTMLResponse:
    """Open steps past their deadline or due within ``hours``."""
    async with hub.sessions() as db:
        by_agency = await queries.sla_watch(db, within=timedelta(hours=hours))
    return render(request, console, "sla.html", session, by_agency=by_agency, near_hours=hours)
