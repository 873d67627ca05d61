"""The console's dead-letter page: filter, inspect (masked), replay one or all that
match (after a confirmation, with progress), resolve, and each one's audit trail.
Every action goes through ``hub.features.deadletters.service``, as the operator API
and the CLI do, so each is audited the same way with the operator's name."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from hub.console.web import PREFIX, Console, Hub, MayReplay, MayResolve, Session, redirect, render
from hub.features.deadletters import service
from hub.features.deadletters.masking import mask_nik_like, show_bytes, show_key
from hub.features.deadletters.models import STATUSES

router = APIRouter(prefix=f"{PREFIX}/dead-letters", include_in_schema=False)


class FilterFields(BaseModel):
    """The page's filter form, read from the query (the list) or the body (replay all);
    a blank field, or a status the hub does not know, filters nothing."""

    status: str = Field(default="", max_length=200)
    topic: str = Field(default="", max_length=200)
    consumer: str = Field(default="", max_length=200)
    error_class: str = Field(default="", max_length=200)

    def where(self) -> service.DeadLetterFilter:
        return service.DeadLetterFilter(
            status=self.status if self.status in STATUSES else None,
            topic=self.topic or None,
            consumer=self.consumer or None,
            error_class=self.error_class or None,
        )


def _form(where: service.DeadLetterFilter) -> dict[str, str]:
    return {
        "status": where.status or "",
        "topic": where.topic or "",
        "consumer": where.consumer or "",
        "error_class": where.error_class or "",
    }


@router.get("", response_class=HTMLResponse)
async def list_page(
    request: Request,
    console: Console,
    hub: Hub,
    session: Session,
    fields: Annotated[FilterFields, Query()],
) -> HTMLResponse:
    where = fields.where()
    async with hub.sessions() as db:
        page = await service.list_dead_letters(db, where, limit=200)
    pending = len(await service.matching_ids(hub.sessions, where.for_bulk_replay()))
    return render(
        request,
        console,
        "deadletters.html",
        session,
        rows=page.items,
        form=_form(where),
        statuses=STATUSES,
        pending=pending,
        mask=mask_nik_like,
    )


@router.get("/{dead_letter_id}", response_class=HTMLResponse)
async def detail_page(request: Request, console: Console, hub: Hub, session: Session, dead_letter_id: int) -> HTMLResponse:
    async with hub.sessions() as db:
        try:
            row = await service.get_dead_letter(db, dead_letter_id)
            audit = await service.audit_trail(db, dead_letter_id)
        except service.DeadLetterNotFound:
            return render(request, console, "missing.html", session, status_code=404, what=f"#{dead_letter_id}")
    shown = show_bytes(row.value)
    return render(
        request,
        console,
        "deadletter.html",
        session,
        row=row,
        key=show_key(row.key),
        headers=[(name, mask_nik_like(value)) for name, value in row.headers],
        value=shown,
        error_message=mask_nik_like(row.error_message),
        audit=audit,
        refusal=request.query_params.get("refused"),
    )


@router.post("/{dead_letter_id}/replay")
async def replay_one(hub: Hub, session: MayReplay, dead_letter_id: int, force: Annotated[bool, Form()] = False) -> RedirectResponse:
    try:
        outcome = await service.replay(hub.sessions, dead_letter_id, actor=session.operator, force=force)
    except service.DeadLetterNotFound:
        return redirect(f"{PREFIX}/dead-letters")
    suffix = "" if outcome.replayed else "?refused=1"
    return redirect(f"{PREFIX}/dead-letters/{dead_letter_id}{suffix}")


@router.post("/{dead_letter_id}/resolve")
async def resolve_one(
    hub: Hub, session: MayResolve, dead_letter_id: int, note: Annotated[str, Form(max_length=500)] = ""
) -> RedirectResponse:
    try:
        await service.resolve(hub.sessions, dead_letter_id, actor=session.operator, note=note or None)
    except service.DeadLetterNotFound:
        return redirect(f"{PREFIX}/dead-letters")
    return redirect(f"{PREFIX}/dead-letters/{dead_letter_id}")


@router.post("/replay", response_model=None)
async def replay_matching(
    request: Request,
    console: Console,
    hub: Hub,
    session: MayReplay,
    fields: Annotated[FilterFields, Form()],
) -> Response:
    """Replay every dead letter the filter selects (``new`` ones unless a status is chosen).
    The page's script asks for ``application/x-ndjson`` and gets one line per dead letter
    as it goes, then the totals; without script the totals come back as a page."""
    where = fields.where()
    if "application/x-ndjson" not in request.headers.get("accept", ""):
        outcome = await service.replay_many(hub.sessions, where, actor=session.operator)
        return render(request, console, "replayed.html", session, outcome=outcome, form=_form(where))
    return StreamingResponse(
        _progress(hub, where, session.operator), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"}
    )


async def _progress(hub: Hub, where: service.DeadLetterFilter, actor: str) -> AsyncIterator[str]:
    ids = await service.matching_ids(hub.sessions, where.for_bulk_replay())
    yield json.dumps({"matched": len(ids)}) + "\n"
    lines: asyncio.Queue[service.ReplayOutcome] = asyncio.Queue()
    task = asyncio.create_task(service.replay_many(hub.sessions, where, actor=actor, progress=lines.put_nowait, ids=ids))
    done = 0
    while done < len(ids):
        getter = asyncio.ensure_future(lines.get())
        await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            if lines.empty():
                break  # the replay ended early (an error): awaiting it below raises it
            continue
        result = getter.result()
        done += 1
        yield json.dumps({"id": result.dead_letter_id, "replayed": result.replayed, "done": done, "total": len(ids)}) + "\n"
    outcome = await task
    yield (
        json.dumps(
            {
                "matched": outcome.matched,
                "replayed": outcome.replayed,
                "refused": outcome.refused,
                "skipped": outcome.skipped,
                "finished": True,
            }
        )
        + "\n"
    )
