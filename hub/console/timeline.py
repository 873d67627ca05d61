"""One case's journey, hop by hop, from what the hub recorded: the case and step
history (submitted, routed, accepted, reported, ended) and the outbox rows (published
to mpp.requests, command sent to the agency, events). Each hop shows how long it took
since the one before. The trace id is the case's own column when the hub stores one,
else the one the case's first outbox row carried in its ``traceparent`` header.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.console.masking import applicant_label, mask_fields
from hub.db.models import Case, HistoryRecord, OutboxMessage, Step
from hub.features.deadletters.masking import mask_nik_like
from messaging.tracing import trace_id_of
from schemas import topics
from schemas.envelope import Headers
from schemas.lifecycle import Status


@dataclass(frozen=True)
class Hop:
    at: datetime
    kind: str  # a label key: hop.submitted, hop.published, ...
    step: str | None
    detail: str
    since_previous: timedelta | None = None


@dataclass(frozen=True)
class StepNode:
    name: str
    agency: str
    service: str
    status: str
    depends_on: list[str]
    depth: int  # column: the longest chain of steps it waits for
    row: int  # position among the steps of its column
    sla_due_at: datetime | None


@dataclass(frozen=True)
class CaseView:
    id: uuid.UUID
    service: str
    kind: str
    status: str
    applicant: str
    data: dict[str, Any]
    created_at: datetime
    trace_id: str | None
    hops: list[Hop]
    steps: list[StepNode]

    @property
    def graph_size(self) -> tuple[int, int]:
        """Columns and rows of the step graph."""
        return 1 + max((s.depth for s in self.steps), default=0), 1 + max((s.row for s in self.steps), default=0)


def _history_hop(record: HistoryRecord, step: Step | None) -> Hop:
    name = step.name if step is not None else None
    note = mask_nik_like(record.note) if record.note else ""
    if record.step_id is None:
        if record.from_status is None:
            kind = "hop.submitted"
        elif record.to_status == Status.COMPLETED.value:
            kind = "hop.completed"
        elif Status(record.to_status).is_terminal:
            kind = "hop.ended"
        else:
            kind = "hop.routed" if record.to_status == Status.ROUTED.value else "hop.reported"
        return Hop(record.at, kind, None, " ".join(filter(None, [record.to_status, note])))
    if note.startswith("refused:") or record.from_status == record.to_status:
        kind = "hop.note"
    elif record.to_status == Status.ROUTED.value:
        kind = "hop.routed"
    elif record.to_status == Status.ACCEPTED.value:
        kind = "hop.accepted"
    else:
        kind = "hop.reported"
    agency = f"{step.agency}: " if step is not None else ""
    return Hop(record.at, kind, name, agency + " ".join(filter(None, [record.to_status, note])))


def _outbox_hop(row: OutboxMessage) -> Hop:
    at = row.sent_at or row.created_at
    pending = "" if row.sent_at else " (not yet sent)"
    if row.topic == topics.REQUESTS:
        return Hop(at, "hop.published", None, row.topic + pending)
    if row.topic.startswith(topics.COMMANDS_PREFIX):
        return Hop(at, "hop.command_sent", None, row.topic + pending)
    return Hop(at, "hop.event", None, row.topic + pending)


def with_durations(hops: list[Hop]) -> list[Hop]:
    ordered = sorted(hops, key=lambda h: h.at)
    return [Hop(h.at, h.kind, h.step, h.detail, None if i == 0 else h.at - ordered[i - 1].at) for i, h in enumerate(ordered)]


def step_graph(steps: list[Step]) -> list[StepNode]:
    """The current (not superseded) steps with their depth in the DAG, for drawing."""
    current = {s.name: s for s in steps if s.superseded_by is None}
    depth: dict[str, int] = {}

    def depth_of(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            parents = [p for p in current[name].depends_on if p in current and p not in seen]
            depth[name] = 1 + max((depth_of(p, seen | {name}) for p in parents), default=-1)
        return depth[name]

    rows: dict[int, int] = {}
    nodes = []
    for s in sorted(current.values(), key=lambda s: (depth_of(s.name), s.name)):
        column = depth_of(s.name)
        rows[column] = rows.get(column, -1) + 1
        nodes.append(StepNode(s.name, s.agency, s.service, s.status, list(s.depends_on), column, rows[column], s.sla_due_at))
    return nodes


async def case_view(session: AsyncSession, case_id: uuid.UUID) -> CaseView | None:
    case = await session.get(Case, case_id)
    if case is None:
        return None
    steps = list((await session.scalars(select(Step).where(Step.case_id == case_id).order_by(Step.created_at))).all())
    by_id = {s.id: s for s in steps}
    history = (await session.scalars(select(HistoryRecord).where(HistoryRecord.case_id == case_id).order_by(HistoryRecord.id))).all()
    # Outbox rows are keyed by the case id (Envelope.key), so one partition keeps a case in order.
    outbox = (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()).order_by(OutboxMessage.id))
    ).all()
    hops = [_history_hop(r, by_id.get(r.step_id) if r.step_id else None) for r in history] + [_outbox_hop(r) for r in outbox]
    # The case keeps its submission's traceparent; a case older than that column has it only on its outbox rows.
    trace = trace_id_of(case.traceparent) or next((t for r in outbox if (t := trace_id_of(r.headers.get(Headers.TRACEPARENT)))), None)
    return CaseView(
        id=case.id,
        service=case.service,
        kind=case.kind,
        status=case.status,
        applicant=applicant_label(case.applicant),
        data=mask_fields(case.data),
        created_at=case.created_at,
        trace_id=trace,
        hops=with_durations(hops),
        steps=step_graph(steps),
    )
