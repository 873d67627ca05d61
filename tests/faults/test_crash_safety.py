"""Crash safety: kill -9 a hub process while requests are in flight, restart it,
and every accepted request still completes exactly once, with no agency
application done twice (by the simulator's ledger)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, HistoryRecord, OutboxMessage, Step
from schemas.identifiers import make_nik
from support.stack import HubStack, pkb_request, submit_many

BURST = 30


@pytest.fixture
async def stack(own_kafka: str, new_database: Callable[[], Awaitable[str]], tmp_path: Path) -> AsyncIterator[HubStack]:
    hub = HubStack(database_url=await new_database(), kafka_bootstrap=own_kafka, workdir=tmp_path / "hub")
    await hub.start_all()
    await hub.set_knobs(latency_ms=60)  # keeps agency calls in flight long enough to be interrupted
    try:
        yield hub
    finally:
        hub.stop_all()


def bodies(count: int, seed: int) -> list[dict[str, object]]:
    """Requests the simulated Samsat accepts: registered plates (serial <= 9000) and
    owners it recognises (its rule refuses NIKs ending in 99)."""
    rng = random.Random(seed)
    niks = (make_nik(rng) for _ in iter(int, 1))
    return [
        pkb_request(next(n for n in niks if not n.endswith("99")), f"BA {rng.randint(1, 8999)} L{rng.choice('ABC')}") for _ in range(count)
    ]


async def completed_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Case).where(Case.status == "COMPLETED")) or 0)
    finally:
        await engine.dispose()


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("victim", ["router", "adapter", "relay"])
async def test_kill9_mid_flight_loses_nothing_and_applies_nothing_twice(stack: HubStack, victim: str) -> None:
    first = await submit_many(stack, bodies(BURST, seed=1))
    # Kill once the flow is demonstrably under way but not finished.
    await wait_until(lambda: _at_least(stack.database_url, 3))
    stack.kill9(victim)
    done_at_kill = await completed_count(stack.database_url)
    assert done_at_kill < BURST, "the kill must happen while requests are in flight"

    second = await submit_many(stack, bodies(BURST, seed=2))  # accepted while the victim is dead
    await asyncio.sleep(1.0)
    stack.start(victim)
    accepted = first + second

    cases = await stack.wait_terminal(accepted, timeout=180)

    assert {c["status"] for c in cases.values()} == {"COMPLETED"}, stack.logs()
    engine = create_engine(stack.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            steps_per_case = dict((await session.execute(select(Step.case_id, func.count()).group_by(Step.case_id))).all())
            completions = (
                await session.execute(
                    select(HistoryRecord.case_id, func.count())
                    .where(HistoryRecord.step_id.is_(None), HistoryRecord.to_status == "COMPLETED")
                    .group_by(HistoryRecord.case_id)
                )
            ).all()
            step_ids = {str(s) for s in (await session.scalars(select(Step.id))).all()}
            unsent = await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    finally:
        await engine.dispose()

    assert len(steps_per_case) == len(accepted) and set(steps_per_case.values()) == {1}, "one step per case, never re-created"
    assert len(completions) == len(accepted) and {n for _, n in completions} == {1}, "each case completed exactly once"
    assert unsent == 0
    ledger = await stack.ledger()
    assert ledger["applied"] == len(accepted), "every step applied at Samsat exactly once"
    assert {e["key"] for e in ledger["entries"]} == step_ids
    assert all(e["replays"] >= 0 for e in ledger["entries"])


async def _at_least(database_url: str, count: int) -> bool:
    return await completed_count(database_url) >= count


async def test_reply_lost_after_the_agency_applied_is_recovered_without_a_second_application(stack: HubStack) -> None:
    """Execute-then-timeout: Samsat applies, the reply is lost; the retry with the
    same key gets the stored answer."""
    await stack.set_knobs(drop_reply_after_apply=1.0, latency_ms=0)
    [case_id] = await submit_many(stack, bodies(1, seed=3))
    await wait_until(lambda: _ledger_applied(stack, 1))
    await stack.set_knobs(drop_reply_after_apply=0.0)

    case = await stack.finished(case_id, timeout=60)

    assert case["status"] == "COMPLETED"
    ledger = await stack.ledger()
    assert ledger["applied"] == 1 and ledger["replayed"] >= 1


async def _ledger_applied(stack: HubStack, count: int) -> bool:
    return (await stack.ledger())["applied"] >= count
