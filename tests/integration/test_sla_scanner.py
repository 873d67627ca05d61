"""The SLA scanner on PostgreSQL: overdue live steps are flagged once, with a history
row and one event on mpp.case-events, however many scanners run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, HistoryRecord, OutboxMessage, Step
from hub.runtime.sla_scanner import SlaScanner, breach_message_id
from schemas.calendar import WorkingCalendar
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status
from support.samples import case_row

NIK = "3171015203900007"
NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Tuesday 12:00 WIB
CALENDAR = WorkingCalendar(holidays=frozenset())


def scanner(sessions: async_sessionmaker[AsyncSession], now: datetime = NOW, **kwargs: int) -> SlaScanner:
    return SlaScanner(sessions, CALENDAR, clock=lambda: now, **kwargs)


async def add_case(
    sessions: async_sessionmaker[AsyncSession],
    *steps: dict[str, object],
    case_status: Status = Status.ROUTED,
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A case with the given steps (each a dict of Step fields over live defaults)."""
    case_id = uuid.uuid4()
    step_ids = [uuid.uuid4() for _ in steps]
    async with sessions.begin() as session:
        applicant = {"nik": NIK, "name": "Siti Aminah"}
        session.add(case_row("polri.skck_new", applicant=applicant, data={"nik": NIK}, status=case_status, case_id=case_id))
        await session.flush()
        for step_id, fields in zip(step_ids, steps, strict=True):
            session.add(
                Step(
                    **{
                        "id": step_id,
                        "case_id": case_id,
                        "service": "polri.skck_new",
                        "agency": "polri",
                        "operation": "skck.apply",
                        "status": Status.IN_PROCESS.value,
                        "inputs": {"nik": NIK},
                        "sla_due_at": NOW - timedelta(hours=1),
                        **fields,
                    }
                )
            )
    return case_id, step_ids


async def breach_rows(sessions: async_sessionmaker[AsyncSession], case_id: uuid.UUID) -> tuple[list[HistoryRecord], list[OutboxMessage]]:
    async with sessions() as session:
        history = (
            await session.scalars(select(HistoryRecord).where(HistoryRecord.case_id == case_id, HistoryRecord.note.like("SLA breached%")))
        ).all()
        outbox = (await session.scalars(select(OutboxMessage).where(OutboxMessage.key == str(case_id).encode()))).all()
    return list(history), list(outbox)


async def test_an_overdue_step_is_flagged_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    case_id, (step_id,) = await add_case(sessions, {})
    assert await scanner(sessions).scan() == 1
    assert await scanner(sessions, NOW + timedelta(minutes=5)).scan() == 0  # second scan: nothing

    async with sessions() as session:
        step = await session.get(Step, step_id)
        case = await session.get(Case, case_id)
    assert step is not None and case is not None
    assert step.sla_breached_at == NOW and case.sla_breached_at == NOW
    assert step.status == Status.IN_PROCESS.value and case.status == Status.ROUTED.value  # a flag, not a move

    history, outbox = await breach_rows(sessions, case_id)
    assert len(history) == 1
    assert (history[0].step_id, history[0].from_status, history[0].to_status) == (step_id, "IN_PROCESS", "IN_PROCESS")
    assert history[0].note == "SLA breached: due 2026-11-24T11:00:00+07:00, polri.skck_new at polri"

    assert len(outbox) == 1
    assert outbox[0].topic == "mpp.case-events"
    assert outbox[0].headers["mpp-message-type"] == "case.sla_breached"
    envelope = Envelope.from_bytes(outbox[0].value)
    assert envelope.type is MessageType.SLA_BREACHED
    assert (envelope.request_id, envelope.step_id, envelope.message_id) == (case_id, step_id, breach_message_id(step_id))
    assert envelope.payload == {
        "case_id": str(case_id),
        "step_id": str(step_id),
        "service": "polri.skck_new",
        "agency": "polri",
        "due_at": "2026-11-24T04:00:00+00:00",
        "breached_at": "2026-11-24T05:00:00+00:00",
    }
    assert NIK.encode() not in outbox[0].value and b"Siti" not in outbox[0].value  # no personal data


@pytest.mark.parametrize(
    ("fields", "case_status"),
    [
        pytest.param({"status": Status.COMPLETED.value}, Status.ROUTED, id="terminal-step"),
        pytest.param({"status": Status.REJECTED.value}, Status.ROUTED, id="rejected-step"),
        pytest.param({"superseded_by": uuid.uuid4()}, Status.ROUTED, id="superseded-step"),
        pytest.param({"sla_due_at": NOW + timedelta(minutes=1)}, Status.ROUTED, id="due-in-the-future"),
        pytest.param({"sla_due_at": NOW}, Status.ROUTED, id="due-this-instant"),
        pytest.param({"sla_due_at": None}, Status.ROUTED, id="no-deadline"),
        pytest.param({}, Status.CANCELLED, id="case-cancelled"),
    ],
)
async def test_steps_that_are_not_flagged(
    sessions: async_sessionmaker[AsyncSession], fields: dict[str, object], case_status: Status
) -> None:
    case_id, (step_id,) = await add_case(sessions, fields, case_status=case_status)
    assert await scanner(sessions).scan() == 0
    async with sessions() as session:
        step = await session.get(Step, step_id)
        case = await session.get(Case, case_id)
    assert step is not None and case is not None
    assert step.sla_breached_at is None and case.sla_breached_at is None
    assert await breach_rows(sessions, case_id) == ([], [])


async def test_the_case_keeps_its_first_breach(sessions: async_sessionmaker[AsyncSession]) -> None:
    case_id, (first, second) = await add_case(sessions, {}, {"sla_due_at": NOW + timedelta(hours=1)})
    assert await scanner(sessions).scan() == 1
    later = NOW + timedelta(hours=2)
    assert await scanner(sessions, later).scan() == 1
    async with sessions() as session:
        case = await session.get(Case, case_id)
        steps = {s.id: s for s in (await session.scalars(select(Step).where(Step.case_id == case_id))).all()}
    assert case is not None and case.sla_breached_at == NOW
    assert steps[first].sla_breached_at == NOW and steps[second].sla_breached_at == later
    history, outbox = await breach_rows(sessions, case_id)
    assert len(history) == 2 and len(outbox) == 2


async def test_a_locked_case_is_skipped_not_waited_for(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The router locks a case before its steps; the scanner must not wait on it the
    other way round (a deadlock), but come back for it in a later round."""
    case_id, _ = await add_case(sessions, {})
    async with sessions.begin() as router_session:
        await router_session.execute(select(Case).where(Case.id == case_id).with_for_update())
        assert await asyncio.wait_for(scanner(sessions).scan(), timeout=5) == 0
    assert await scanner(sessions).scan() == 1


async def test_concurrent_scanners_flag_each_breach_once(database_url: str) -> None:
    engines = [create_engine(database_url), create_engine(database_url)]
    try:
        first, second = (create_sessionmaker(e) for e in engines)
        cases = [await add_case(first, {}, {}, {"sla_due_at": NOW - timedelta(minutes=i + 1)}) for i in range(12)]
        total = len(cases) * 3
        scanners = [scanner(first, batch_size=5), scanner(second, batch_size=5)]
        flagged = 0
        for _ in range(50):
            results = await asyncio.gather(*(s.scan() for s in scanners))
            flagged += sum(results)
            if not any(results):
                break
        assert flagged == total
        assert sum(s.flagged for s in scanners) == total
        async with first() as session:
            history = await session.scalar(select(func.count()).select_from(HistoryRecord).where(HistoryRecord.note.like("SLA breached%")))
            events = (await session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.topic == "mpp.case-events"))).all()
            unflagged = await session.scalar(select(func.count()).select_from(Step).where(Step.sla_breached_at.is_(None)))
            flagged_cases = await session.scalar(select(func.count()).select_from(Case).where(Case.sla_breached_at.is_not(None)))
        assert history == total
        assert len(events) == len(set(events)) == total
        assert unflagged == 0 and flagged_cases == len(cases)
        assert await asyncio.gather(*(s.scan() for s in scanners)) == [0, 0]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_run_flags_breaches_until_stopped(sessions: async_sessionmaker[AsyncSession]) -> None:
    stop = asyncio.Event()
    live = SlaScanner(sessions, CALENDAR)  # the real clock
    task = asyncio.create_task(live.run(stop, interval_seconds=0.05))
    try:
        case_id, (step_id,) = await add_case(sessions, {"sla_due_at": datetime.now(UTC) + timedelta(seconds=0.2)})
        async with asyncio.timeout(10):
            while True:
                async with sessions() as session:
                    step = await session.get(Step, step_id)
                if step is not None and step.sla_breached_at is not None:
                    break
                await asyncio.sleep(0.05)
        assert step.sla_due_at is not None and step.sla_breached_at > step.sla_due_at
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert live.flagged == 1
    assert len((await breach_rows(sessions, case_id))[1]) == 1
