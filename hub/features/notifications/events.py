"""History rows as portal events: the one shape sent by webhooks and by SSE.

Every case or step status change is a history row with an increasing id; that id is
the event id. The body tells what changed and the case's status *as of that event*
(not as of when it is sent), so a replay from the start reads like the case's story.
It never carries the applicant (NIK, name) or any case data: a portal that needs the
details reads ``GET /v1/requests/{id}``.

Refused transitions (history notes ``refused: ...``) are audit entries for operators,
not changes, and are not events.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Case, HistoryRecord, Step


class EventType:
    CASE_STATUS_CHANGED = "case.status_changed"
    STEP_STATUS_CHANGED = "step.status_changed"
    CASE_SLA_BREACHED = "case.sla_breached"


REFUSAL_PREFIX = "refused:"
SLA_PREFIX = "SLA breached"

# A 16-digit run is a NIK (or an NPWP-as-NIK); agency error messages must not leak one.
_NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")


class EventCase(BaseModel):
    id: uuid.UUID
    service: str
    status: str = Field(description="The case's status as of this event.")


class EventStep(BaseModel):
    id: uuid.UUID
    name: str | None = None
    service: str
    agency: str
    status: str = Field(description="The step's status as of this event.")


class EventBody(BaseModel):
    """What a webhook POSTs and what an SSE ``data:`` line carries."""

    event_id: int = Field(description="The history id: increasing, the same on every retry; dedupe on it.")
    type: str = Field(description="case.status_changed | step.status_changed | case.sla_breached")
    occurred_at: datetime
    case: EventCase
    step: EventStep | None
    from_status: str | None
    to_status: str
    note: str | None


@dataclass(frozen=True)
class HubEvent:
    id: int
    type: str
    case_id: uuid.UUID
    client_id: str
    body: EventBody

    def json(self) -> str:
        return self.body.model_dump_json()


def is_event(row: HistoryRecord) -> bool:
    return not (row.note or "").startswith(REFUSAL_PREFIX)


def event_type(row: HistoryRecord) -> str:
    if (row.note or "").startswith(SLA_PREFIX):
        return EventType.CASE_SLA_BREACHED
    return EventType.STEP_STATUS_CHANGED if row.step_id is not None else EventType.CASE_STATUS_CHANGED


def redact(note: str | None) -> str | None:
    return _NIK_LIKE.sub("[redacted]", note) if note else note


async def build_events(session: AsyncSession, rows: Sequence[HistoryRecord]) -> list[HubEvent]:
    """Events for ``rows`` (in their order), skipping refusals; rows of unknown cases are skipped."""
    rows = [r for r in rows if is_event(r)]
    if not rows:
        return []
    case_ids = {r.case_id for r in rows}
    step_ids = {r.step_id for r in rows if r.step_id is not None}
    cases = {
        c.id: c
        for c in (await session.execute(select(Case.id, Case.client_id, Case.service, Case.status).where(Case.id.in_(case_ids)))).all()
    }
    steps = (
        {s.id: s for s in (await session.execute(select(Step.id, Step.name, Step.service, Step.agency).where(Step.id.in_(step_ids)))).all()}
        if step_ids
        else {}
    )
    # Case-level status changes up to the newest row, to tell the case status as of each event.
    timeline: dict[uuid.UUID, list[tuple[int, str]]] = defaultdict(list)
    case_rows = await session.execute(
        select(HistoryRecord.id, HistoryRecord.case_id, HistoryRecord.to_status, HistoryRecord.note)
        .where(HistoryRecord.case_id.in_(case_ids), HistoryRecord.step_id.is_(None), HistoryRecord.id <= max(r.id for r in rows))
        .order_by(HistoryRecord.id)
    )
    for history_id, case_id, to_status, note in case_rows.all():
        if not (note or "").startswith(REFUSAL_PREFIX):
            timeline[case_id].append((history_id, to_status))

    events = []
    for row in rows:
        case = cases.get(row.case_id)
        if case is None:
            continue
        status = case.status
        for history_id, to_status in timeline.get(row.case_id, ()):
            if history_id > row.id:
                break
            status = to_status
        step = None
        if row.step_id is not None:
            known = steps.get(row.step_id)
            if known is not None:
                step = EventStep(id=known.id, name=known.name, service=known.service, agency=known.agency, status=row.to_status)
        kind = event_type(row)
        body = EventBody(
            event_id=row.id,
            type=kind,
            occurred_at=row.at,
            case=EventCase(id=case.id, service=case.service, status=status),
            step=step,
            from_status=row.from_status,
            to_status=row.to_status,
            note=redact(row.note),
        )
        events.append(HubEvent(id=row.id, type=kind, case_id=row.case_id, client_id=case.client_id, body=body))
    return events
