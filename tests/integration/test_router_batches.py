"""The router applies a partition's batch in one transaction (hub/runtime/router.py
``Router.handle_batch``), with the per-message guarantee intact: a redelivered batch, or
one message twice in a batch, applies nothing twice, because every message id is
claimed in the same transaction as what it changes; a batch that fails applies nothing
at all, so the one-by-one redelivery that follows starts from a clean slate."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from aiokafka import TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.catalogue import Catalogue
from hub.db.models import Case, HistoryRecord, OutboxMessage, ProcessedMessage, Step
from hub.domain.workflow import Workflow
from hub.runtime.router import Router
from messaging import PoisonMessage
from schemas import topics
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status
from schemas.messages import StepError, StepStatusReport
from support.records import consumer_record
from support.samples import case_row

SERVICE = "samsat.pkb_annual"
Item = tuple[Envelope, object]


async def new_cases(sessions: async_sessionmaker[AsyncSession], count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    async with sessions.begin() as session:
        for case_id in ids:
            session.add(case_row(SERVICE, applicant={"nik": "1375015203900007", "name": "Siti"}, data={}, case_id=case_id))
            session.add(HistoryRecord(case_id=case_id, to_status=Status.SUBMITTED.value))
    return ids


def items(topic: str, envelopes: Sequence[Envelope]) -> list[Item]:
    tp = TopicPartition(topic, 0)
    return [(e, consumer_record(tp, offset, e.to_bytes(), key=str(e.request_id).encode())) for offset, e in enumerate(envelopes)]


def submitted(case_id: uuid.UUID) -> Envelope:
    return Envelope(request_id=case_id, type=MessageType.REQUEST_SUBMITTED, source="api")


def failed_report(step: Step) -> Envelope:
    report = StepStatusReport(status=Status.FAILED, error=StepError(code="rejected", message="plate not registered"))
    return Envelope(
        request_id=step.case_id, step_id=step.id, type=MessageType.STEP_STATUS, source="samsat", payload=report.model_dump(mode="json")
    )


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Step, HistoryRecord, OutboxMessage, ProcessedMessage)
        }


async def steps_of(sessions: async_sessionmaker[AsyncSession], case_ids: list[uuid.UUID]) -> list[Step]:
    async with sessions() as session:
        return list((await session.scalars(select(Step).where(Step.case_id.in_(case_ids)))).all())


async def statuses(sessions: async_sessionmaker[AsyncSession], case_ids: list[uuid.UUID]) -> set[str]:
    async with sessions() as session:
        return set((await session.scalars(select(Case.status).where(Case.id.in_(case_ids)))).all())


async def test_a_batch_routes_every_case_in_one_go_and_its_redelivery_applies_nothing_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    router = Router(sessions, Workflow(Catalogue.load()))
    case_ids = await new_cases(sessions, 5)
    batch = items(topics.REQUESTS, [submitted(c) for c in case_ids])

    await router.handle_batch(batch)

    steps = await steps_of(sessions, case_ids)
    assert sorted(s.case_id for s in steps) == sorted(case_ids)  # one step per case
    assert {s.status for s in steps} == {Status.ROUTED.value}
    after_first = await counts(sessions)
    assert after_first["outbox"] == 5 and after_first["processed_messages"] == 5

    await router.handle_batch(batch)  # redelivered after a crash before the offsets were committed
    await router.handle_batch(batch[1:3] + batch[:1])  # or part of it, in another batch
    assert await counts(sessions) == after_first


async def test_a_message_twice_in_one_batch_is_applied_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    router = Router(sessions, Workflow(Catalogue.load()))
    [case_id] = await new_cases(sessions, 1)
    routed = items(topics.REQUESTS, [submitted(case_id)])
    await router.handle_batch(routed)
    [step] = await steps_of(sessions, [case_id])
    report = failed_report(step)
    before = await counts(sessions)

    await router.handle_batch(items(topics.events("samsat"), [report, report]))  # the outbox published it twice

    assert await statuses(sessions, [case_id]) == {Status.FAILED.value}
    after = await counts(sessions)
    async with sessions() as session:
        step_history = (await session.scalars(select(HistoryRecord.to_status).where(HistoryRecord.step_id == step.id))).all()
    assert step_history.count(Status.FAILED.value) == 1
    assert after["processed_messages"] == before["processed_messages"] + 1


async def test_reports_for_many_cases_and_new_messages_mixed_with_redelivered_ones(sessions: async_sessionmaker[AsyncSession]) -> None:
    router = Router(sessions, Workflow(Catalogue.load()))
    case_ids = await new_cases(sessions, 4)
    requests = [submitted(c) for c in case_ids]
    await router.handle_batch(items(topics.REQUESTS, requests[:2]))
    reports = [failed_report(s) for s in await steps_of(sessions, case_ids[:2])]
    await router.handle_batch(items(topics.events("samsat"), reports[:1]))
    assert await statuses(sessions, case_ids[:1]) == {Status.FAILED.value}
    before = await counts(sessions)

    # A redelivery that overlaps new work: only the new messages are applied.
    await router.handle_batch(items(topics.REQUESTS, requests))
    await router.handle_batch(items(topics.events("samsat"), reports))

    assert await statuses(sessions, case_ids) == {Status.FAILED.value, Status.ROUTED.value}
    assert await statuses(sessions, case_ids[:2]) == {Status.FAILED.value}
    after = await counts(sessions)
    assert after["steps"] == before["steps"] + 2
    assert after["outbox"] == before["outbox"] + 2  # a command for each newly routed case, none again
    assert after["processed_messages"] == before["processed_messages"] + 3
    async with sessions() as session:
        refused = await session.scalar(select(func.count()).select_from(HistoryRecord).where(HistoryRecord.note.like("refused:%")))
    assert refused == 0  # the redelivered report was not applied again (it would be refused as FAILED -> FAILED)


async def test_a_batch_with_a_poison_message_applies_nothing_and_claims_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    router = Router(sessions, Workflow(Catalogue.load()))
    case_ids = await new_cases(sessions, 2)
    unknown_case = Envelope(request_id=uuid.uuid4(), type=MessageType.REQUEST_SUBMITTED, source="api")
    before = await counts(sessions)

    with pytest.raises(PoisonMessage):
        await router.handle_batch(items(topics.REQUESTS, [submitted(case_ids[0]), unknown_case, submitted(case_ids[1])]))

    assert await counts(sessions) == before  # rolled back whole: the one-by-one retry applies the good ones
    assert await statuses(sessions, case_ids) == {Status.SUBMITTED.value}
    for envelope, record in items(topics.REQUESTS, [submitted(case_ids[0]), submitted(case_ids[1])]):
        await router.handle(envelope, record)  # type: ignore[arg-type]
    assert await statuses(sessions, case_ids) == {Status.ROUTED.value}


async def test_a_batch_from_another_agencys_report_topic_applies_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    router = Router(sessions, Workflow(Catalogue.load()))
    [case_id] = await new_cases(sessions, 1)
    await router.handle_batch(items(topics.REQUESTS, [submitted(case_id)]))
    [step] = await steps_of(sessions, [case_id])  # a Samsat step
    before = await counts(sessions)

    with pytest.raises(PoisonMessage, match="refused"):
        await router.handle_batch(items(topics.events("polri"), [failed_report(step)]))  # Polri's adapter speaks for Samsat

    assert await counts(sessions) == before
    assert await statuses(sessions, [case_id]) == {Status.ROUTED.value}
