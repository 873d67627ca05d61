"""Read-only queries behind the console's pages, straight from the hub's tables.

Rates are counted from what the database already records: cases created (portal ->
hub), command outbox rows sent (hub -> agency) and step transitions reported (agency
-> hub). Step times are submitted -> terminal of the steps that ended in the window.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Case, HistoryRecord, OutboxMessage, Step
from hub.features.adapter_status import InstanceView
from hub.features.privacy.masking import applicant_label
from schemas import topics
from schemas.lifecycle import TERMINAL, Status

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
TERMINAL_NAMES = sorted(s.value for s in TERMINAL)
RECENT = 8  # cases the flow page lists
BREAKER_SEVERITY = {"open": 3, "half_open": 2, "closed": 1}


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def worst_breaker(instances: list[InstanceView]) -> str:
    """The state an operator should see for an agency: the worst of its live instances."""
    live = [i for i in instances if not i.stale] or instances
    if not live:
        return "none"
    return max((i.state for i in live), key=lambda state: BREAKER_SEVERITY.get(state, 0))


@dataclass
class AgencyTile:
    agency: str
    commands_per_minute: int = 0
    reports_per_minute: int = 0
    in_flight: int = 0
    completed_hour: int = 0
    rejected_hour: int = 0
    p50_seconds: float | None = None
    p95_seconds: float | None = None
    error_rate: float | None = None
    breaker: str = "none"
    lag: int | None = None


@dataclass(frozen=True)
class RecentCase:
    """A case as the flow page lists it: no personal data."""

    id: str
    service: str
    status: str
    updated_at: str


@dataclass
class FlowSnapshot:
    at: datetime
    portal_per_minute: int
    agencies: list[AgencyTile] = field(default_factory=list)
    recent: list[RecentCase] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "portal_per_minute": self.portal_per_minute,
            "agencies": [vars(a) for a in self.agencies],
            "recent": [vars(c) for c in self.recent],
        }


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(query) or 0)


async def flow_snapshot(session: AsyncSession, agencies: list[str], *, now: datetime | None = None) -> FlowSnapshot:
    now = now or datetime.now(UTC)
    snapshot = FlowSnapshot(at=now, portal_per_minute=await _count(session, select(func.count()).where(Case.created_at >= now - MINUTE)))
    for agency in agencies:
        snapshot.agencies.append(await _agency_tile(session, agency, now))
    latest = (
        await session.execute(select(Case.id, Case.service, Case.status, Case.updated_at).order_by(Case.updated_at.desc()).limit(RECENT))
    ).all()
    snapshot.recent = [RecentCase(str(i), service, status, updated.isoformat()) for i, service, status, updated in latest]
    return snapshot


async def _agency_tile(session: AsyncSession, agency: str, now: datetime) -> AgencyTile:
    tile = AgencyTile(agency)
    tile.commands_per_minute = await _count(
        session, select(func.count()).where(OutboxMessage.topic == topics.commands(agency), OutboxMessage.sent_at >= now - MINUTE)
    )
    tile.reports_per_minute = await _count(
        session,
        select(func.count())
        .select_from(HistoryRecord)
        .join(Step, Step.id == HistoryRecord.step_id)
        .where(Step.agency == agency, HistoryRecord.at >= now - MINUTE, HistoryRecord.to_status != Status.ROUTED.value),
    )
    tile.in_flight = await _count(
        session, select(func.count()).where(Step.agency == agency, Step.status.not_in(TERMINAL_NAMES), Step.superseded_by.is_(None))
    )
    ended = (
        await session.execute(
            select(Step.status, Step.created_at, Step.updated_at).where(
                Step.agency == agency, Step.status.in_(TERMINAL_NAMES), Step.updated_at >= now - HOUR
            )
        )
    ).all()
    tile.completed_hour = sum(1 for status, *_ in ended if status == Status.COMPLETED.value)
    tile.rejected_hour = sum(1 for status, *_ in ended if status == Status.REJECTED.value)
    durations = [(updated - created).total_seconds() for status, created, updated in ended if status == Status.COMPLETED.value]
    tile.p50_seconds, tile.p95_seconds = percentile(durations, 0.5), percentile(durations, 0.95)
    failed = sum(1 for status, *_ in ended if status in (Status.FAILED.value, Status.EXPIRED.value))
    tile.error_rate = failed / len(ended) if ended else None
    return tile


@dataclass(frozen=True)
class CaseQuery:
    case_id: str | None = None
    status: str | None = None
    service: str | None = None
    agency: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sla_breached: bool = False
    limit: int = 100


@dataclass(frozen=True)
class CaseRow:
    id: uuid.UUID
    service: str
    status: str
    applicant: str
    agencies: list[str]
    sla_breached: bool
    created_at: datetime
    updated_at: datetime


async def search_cases(session: AsyncSession, query: CaseQuery) -> list[CaseRow]:
    """Newest first. A case id may be given whole or as its leading characters."""
    stmt = select(Case).order_by(Case.created_at.desc()).limit(query.limit)
    if query.case_id:
        try:
            stmt = stmt.where(Case.id == uuid.UUID(query.case_id))
        except ValueError:
            stmt = stmt.where(cast(Case.id, String).like(f"{query.case_id.lower()}%"))
    if query.status:
        stmt = stmt.where(Case.status == query.status)
    if query.service:
        stmt = stmt.where(Case.service == query.service)
    if query.agency:
        stmt = stmt.where(Case.id.in_(select(Step.case_id).where(Step.agency == query.agency)))
    if query.created_from:
        stmt = stmt.where(Case.created_at >= query.created_from)
    if query.created_to:
        stmt = stmt.where(Case.created_at <= query.created_to)
    if query.sla_breached:
        stmt = stmt.where(
            or_(Case.sla_breached_at.is_not(None), Case.id.in_(select(Step.case_id).where(Step.sla_breached_at.is_not(None))))
        )
    cases = list((await session.scalars(stmt)).all())
    agencies = await _agencies_of(session, [c.id for c in cases])
    return [
        CaseRow(
            id=c.id,
            service=c.service,
            status=c.status,
            applicant=applicant_label(c.applicant),
            agencies=agencies.get(c.id, []),
            sla_breached=c.sla_breached_at is not None,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in cases
    ]


async def _agencies_of(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    if not case_ids:
        return {}
    rows = (await session.execute(select(Step.case_id, Step.agency).where(Step.case_id.in_(case_ids)).distinct())).all()
    found: dict[uuid.UUID, list[str]] = {}
    for case_id, agency in rows:
        found.setdefault(case_id, []).append(agency)
    return {k: sorted(v) for k, v in found.items()}


@dataclass(frozen=True)
class SlaRow:
    case_id: uuid.UUID
    step: str
    agency: str
    service: str
    status: str
    due_at: datetime
    overdue: bool
    remaining: timedelta


async def sla_watch(session: AsyncSession, *, within: timedelta, now: datetime | None = None) -> dict[str, list[SlaRow]]:
    """Open steps whose deadline passed or falls within ``within``, by agency, most urgent first."""
    now = now or datetime.now(UTC)
    steps = (
        await session.scalars(
            select(Step)
            .where(Step.status.not_in(TERMINAL_NAMES), Step.superseded_by.is_(None), Step.sla_due_at.is_not(None))
            .where(Step.sla_due_at <= now + within)
            .order_by(Step.sla_due_at)
            .limit(500)
        )
    ).all()
    found: dict[str, list[SlaRow]] = {}
    for s in steps:
        assert s.sla_due_at is not None
        found.setdefault(s.agency, []).append(
            SlaRow(s.case_id, s.name, s.agency, s.service, s.status, s.sla_due_at, s.sla_due_at <= now, s.sla_due_at - now)
        )
    return dict(sorted(found.items()))
