"""The operator API: dead letters, browsable, replayable and audited.

Operators authenticate with their own bearer keys (``Settings.operator_keys``, token
-> operator name), separate from portal keys: a portal key gets 403 here, an unknown
or missing key 401, both as problem+json. Stored values are shown masked (NIK-like
numbers) when they are UTF-8 JSON, else as base64.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from hub.api.auth import Operator, OperatorMayReplay, OperatorMayResolve
from hub.api.errors import ApiError, FieldError, problem_responses
from hub.api.limits import MAX_INT_COLUMN
from hub.api.links import link, links
from hub.api.state import ApiState, api_state
from hub.features.deadletters import service
from hub.features.deadletters.masking import mask_nik_like, show_bytes, show_key
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit

router = APIRouter(prefix="/v1/operator", tags=["operators"])


State = Annotated[ApiState, Depends(api_state)]
StatusName = Literal["new", "replayed", "resolved", "quarantined"]
DeadLetterId = Annotated[int, Path(ge=1, le=MAX_INT_COLUMN, description="The dead letter's id.")]

_ERRORS = problem_responses(401, 403, 404, 409, 413, 422, 429)


class DeadLetterSummary(BaseModel):
    id: int
    status: StatusName
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    consumer: str
    error_class: str
    error_message: str
    attempts: int
    correlation_id: str | None
    incoming_replay_count: int = Field(description="dlq.replay.count the record carried when it failed.")
    replay_count: int = Field(description="How often this dead letter was replayed.")
    dead_lettered_at: datetime
    last_replayed_at: datetime | None


class HeaderView(BaseModel):
    name: str
    value: str


class ValueView(BaseModel):
    encoding: Literal["json", "base64", "none"] = Field(
        description="json: UTF-8 JSON text with NIK-like numbers masked; base64: anything else."
    )
    text: str | None


class DeadLetterDetail(DeadLetterSummary):
    key: str | None
    headers: list[HeaderView]
    value: ValueView
    dlq_partition: int
    dlq_offset: int


class DeadLetterPage(BaseModel):
    items: list[DeadLetterSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last page.")


class ReplayResult(BaseModel):
    id: int
    outcome: Literal["replayed"]
    status: StatusName
    replay_count: int
    replay_header: int = Field(description="The dlq.replay.count the replayed record carries.")


class BulkReplayResult(BaseModel):
    matched: int
    replayed: int
    refused: int
    skipped: int


class AuditEntry(BaseModel):
    id: int
    actor: str
    action: str
    result: str
    detail: str | None
    at: datetime


def _summary(row: DeadLetter) -> dict[str, object]:
    return {
        "id": row.id,
        "status": row.status,
        "original_topic": row.original_topic,
        "original_partition": row.original_partition,
        "original_offset": row.original_offset,
        "consumer": row.consumer,
        "error_class": row.error_class,
        "error_message": mask_nik_like(row.error_message),
        "attempts": row.attempts,
        "correlation_id": row.correlation_id,
        "incoming_replay_count": row.incoming_replay_count,
        "replay_count": row.replay_count,
        "dead_lettered_at": row.dead_lettered_at,
        "last_replayed_at": row.last_replayed_at,
    }


def _not_found(dead_letter_id: int) -> ApiError:
    return ApiError(404, "not_found", "No such dead letter", detail=f"dead letter {dead_letter_id} does not exist")


FilterStatus = Annotated[StatusName | None, Query(description="new | replayed | resolved | quarantined")]
FilterTopic = Annotated[str | None, Query(description="The topic the record was consumed from, e.g. mpp.requests.")]
FilterConsumer = Annotated[str | None, Query(description="The consumer that dead-lettered it, e.g. router.")]
FilterErrorClass = Annotated[str | None, Query(description="e.g. PoisonMessage.")]


def dead_letter_filter(
    status: FilterStatus = None, topic: FilterTopic = None, consumer: FilterConsumer = None, error_class: FilterErrorClass = None
) -> service.DeadLetterFilter:
    """The query parameters that select dead letters, shared by listing and bulk replay."""
    return service.DeadLetterFilter(status=status, topic=topic, consumer=consumer, error_class=error_class)


Selection = Annotated[service.DeadLetterFilter, Depends(dead_letter_filter)]


_FIRST_ID = "$response.body#/items/0/id"
_DEAD_LETTER_LINKS = links(
    200,
    ShowDeadLetter=link("/v1/operator/dead-letters/{dead_letter_id}", "get", dead_letter_id=_FIRST_ID),
    ReplayDeadLetter=link("/v1/operator/dead-letters/{dead_letter_id}/replay", "post", dead_letter_id=_FIRST_ID),
    ResolveDeadLetter=link("/v1/operator/dead-letters/{dead_letter_id}/resolve", "post", dead_letter_id=_FIRST_ID),
    DeadLetterAudit=link("/v1/operator/dead-letters/{dead_letter_id}/audit", "get", dead_letter_id=_FIRST_ID),
)


@router.get("/dead-letters", response_model=DeadLetterPage, responses=_ERRORS | _DEAD_LETTER_LINKS)
async def list_dead_letters(
    _: Operator,
    state: State,
    where: Selection,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=10, description="next_cursor of the previous page.")] = None,
) -> DeadLetterPage:
    """Dead letters, newest first."""
    after: int | None = None
    if cursor is not None:
        # ASCII digits only ("²".isdigit() is true) and within the id column's range.
        if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_INT_COLUMN:
            raise ApiError(
                422,
                "validation_error",
                "The request is invalid",
                detail="Invalid fields: cursor",
                errors=[
                    FieldError(field="cursor", loc=["query", "cursor"], type="cursor_invalid", message="not a cursor this API returned")
                ],
            )
        after = int(cursor)
    async with state.sessions() as session:
        page = await service.list_dead_letters(session, where, limit=limit, cursor=after)
    return DeadLetterPage(
        items=[DeadLetterSummary.model_validate(_summary(r)) for r in page.items],
        next_cursor=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.post("/dead-letters/replay", response_model=BulkReplayResult, responses=_ERRORS)
async def replay_dead_letters(
    who: OperatorMayReplay,
    state: State,
    where: Selection,
    force: Annotated[bool, Query(description="Also replay quarantined or resolved dead letters the filter selects.")] = False,
) -> BulkReplayResult:
    """Replay every dead letter the filters select (only `new` ones unless `status` is given), each audited."""
    outcome = await service.replay_many(state.sessions, where, actor=who, force=force)
    return BulkReplayResult(matched=outcome.matched, replayed=outcome.replayed, refused=outcome.refused, skipped=outcome.skipped)


@router.get("/dead-letters/{dead_letter_id}", response_model=DeadLetterDetail, responses=_ERRORS)
async def show_dead_letter(dead_letter_id: DeadLetterId, _: Operator, state: State) -> DeadLetterDetail:
    """One dead letter with its headers, error and value (NIK-like numbers masked)."""
    async with state.sessions() as session:
        try:
            row = await service.get_dead_letter(session, dead_letter_id)
        except service.DeadLetterNotFound:
            raise _not_found(dead_letter_id) from None
    shown = show_bytes(row.value)
    return DeadLetterDetail.model_validate(
        {
            **_summary(row),
            "key": show_key(row.key),
            "headers": [{"name": name, "value": mask_nik_like(value)} for name, value in row.headers],
            "value": {"encoding": shown.encoding, "text": shown.text},
            "dlq_partition": row.dlq_partition,
            "dlq_offset": row.dlq_offset,
        }
    )


@router.post("/dead-letters/{dead_letter_id}/replay", response_model=ReplayResult, responses=_ERRORS)
async def replay_dead_letter(
    dead_letter_id: DeadLetterId,
    who: OperatorMayReplay,
    state: State,
    force: Annotated[bool, Query(description="Replay even a quarantined or resolved dead letter.")] = False,
) -> ReplayResult:
    """Re-publish the original record to its original topic (via the outbox). A refusal is a 409, and audited."""
    try:
        outcome = await service.replay(state.sessions, dead_letter_id, actor=who, force=force)
    except service.DeadLetterNotFound:
        raise _not_found(dead_letter_id) from None
    if not outcome.replayed:
        raise ApiError(409, "replay_refused", "Replay refused", detail=outcome.reason)
    assert outcome.header_count is not None
    return ReplayResult(
        id=outcome.dead_letter_id,
        outcome="replayed",
        status=outcome.status,
        replay_count=outcome.replay_count,
        replay_header=outcome.header_count,
    )


@router.post("/dead-letters/{dead_letter_id}/resolve", response_model=DeadLetterSummary, responses=_ERRORS)
async def resolve_dead_letter(
    dead_letter_id: DeadLetterId,
    who: OperatorMayResolve,
    state: State,
    note: Annotated[str | None, Query(max_length=500, description="Why no replay is needed.")] = None,
) -> DeadLetterSummary:
    """Mark a dead letter as dealt with; bulk replays leave it alone from then on."""
    try:
        row = await service.resolve(state.sessions, dead_letter_id, actor=who, note=note)
    except service.DeadLetterNotFound:
        raise _not_found(dead_letter_id) from None
    return DeadLetterSummary.model_validate(_summary(row))


@router.get("/dead-letters/{dead_letter_id}/audit", response_model=list[AuditEntry], responses=_ERRORS)
async def dead_letter_audit(dead_letter_id: DeadLetterId, _: Operator, state: State) -> list[AuditEntry]:
    """Everything that happened to one dead letter, oldest first (refusals included)."""
    async with state.sessions() as session:
        try:
            entries: list[DeadLetterAudit] = await service.audit_trail(session, dead_letter_id)
        except service.DeadLetterNotFound:
            raise _not_found(dead_letter_id) from None
    return [AuditEntry(id=e.id, actor=e.actor, action=e.action, result=e.result, detail=e.detail, at=e.at) for e in entries]
